/**
 * The auditor's commands (docs/exchange.md, "Auditing a node's log"): `gov-id exchange log verify
 * --entity ID` against the running node, `gov-id exchange log export --entity ID FILE`, and
 * `gov-id exchange log verify --file FILE` offline, with the trust anchor's keys pinned or not;
 * a tampered or reordered file fails with exit status 1 and says where.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { newPerson, relyingParty } from '../helpers/flows.ts';
import { opSite, registerAt } from '../helpers/recognition-sites.ts';
import { runCli } from '../helpers/integration-extra.ts';
import { consentAt, dataAccessDetail, requestData, trustMarksHeld } from '../helpers/exchange-flows.ts';

const PASSWORD = 'Passw0rd-gov';
let fed: TestFederation;
let scratch: string;

test.before(async () => {
  fed = await startTestFederation(['gz', 'registries']);
  scratch = mkdtempSync(join(tmpdir(), 'gov-id-exchange-cli-'));
  await trustMarksHeld(fed, ['gz', 'gd']);
});
test.after.always(async () => {
  await fed?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([...args, '--topology', fed.topologyFile, '--data', fed.config.dataDir]);

/** One served request, at the node, for a person of gz. */
async function servedRequest(): Promise<void> {
  const person = await newPerson(fed);
  await registerAt(fed, opSite(fed, 'gz'), person, PASSWORD);
  const node = fed.url('registries');
  const detail = {
    holder: node,
    requester: node,
    dataset: 'population-facts',
    attributes: ['name'],
    purpose: 'social-insurance',
    item: 'ITEM-1',
  };
  const { accessToken } = await consentAt(await relyingParty(fed, 'gz'), new UserAgent(), {
    identifier: person.id_number,
    password: PASSWORD,
    details: [dataAccessDetail(detail)],
    mode: 'once',
  });
  const { holder: _h, requester: _r, ...fields } = detail;
  const answer = await requestData(fed, 'registries', {
    holder: node,
    access_token: accessToken!,
    subject: { kind: 'natural', id_number: person.id_number },
    ...fields,
  });
  if (answer.status !== 200) throw new Error(JSON.stringify(answer.json));
}

test.serial('verify --entity against the running federation, export, and verify --file offline', async (t) => {
  await servedRequest();
  await servedRequest();
  const live = await cli('exchange', 'log', 'verify', '--entity', 'registries');
  t.is(live.code, 0, live.stderr + live.stdout);
  t.like(JSON.parse(live.stdout), {
    intact: true,
    entries: 4,
    anchor_pinned: true,
    entity: fed.url('registries'),
    trust_anchor: fed.url('national'),
  });

  const file = join(scratch, 'registries-log.json');
  const exported = await cli('exchange', 'log', 'export', '--entity', 'registries', file);
  t.is(exported.code, 0, exported.stderr);
  t.like(JSON.parse(exported.stdout), { entries: 4, file });

  const offline = await cli('exchange', 'log', 'verify', '--file', file);
  t.is(offline.code, 0, offline.stdout);
  t.like(JSON.parse(offline.stdout), { intact: true, entries: 4, anchor_pinned: false });

  // Pinned to the trust anchor's keys, as the auditor got them out of band.
  const anchorKeys = join(scratch, 'anchor-jwks.json');
  const anchorConfig = decodeJwt(await (await fetch(`${fed.url('national')}/.well-known/openid-federation`)).text());
  writeFileSync(anchorKeys, JSON.stringify(anchorConfig.jwks));
  const pinned = await cli(
    'exchange',
    'log',
    'verify',
    '--file',
    file,
    '--trust-anchor',
    fed.url('national'),
    '--trust-anchor-jwks',
    anchorKeys,
  );
  t.is(pinned.code, 0, pinned.stdout);
  t.like(JSON.parse(pinned.stdout), { intact: true, anchor_pinned: true });
});

test.serial('a tampered, reordered or foreign-anchored file fails with exit status 1 and says where', async (t) => {
  const file = join(scratch, 'original.json');
  t.is((await cli('exchange', 'log', 'export', '--entity', 'registries', file)).code, 0);
  const original = JSON.parse(readFileSync(file, 'utf8')) as { entries: { seq: number; entry: Record<string, unknown> }[] };
  const variant = async (name: string, change: (b: typeof original) => void) => {
    const copy = structuredClone(original);
    change(copy);
    const path = join(scratch, `${name}.json`);
    writeFileSync(path, JSON.stringify(copy));
    const r = await cli('exchange', 'log', 'verify', '--file', path);
    return { code: r.code, result: JSON.parse(r.stdout) as Record<string, unknown> };
  };
  const edited = await variant('edited', (b) => {
    b.entries[1]!.entry.result = 'refused';
  });
  t.is(edited.code, 1);
  t.like(edited.result, { intact: false, broken_at: 2, problem: 'hash_mismatch' });
  const swapped = await variant('swapped', (b) => {
    const [one, two] = [b.entries[0]!, b.entries[1]!];
    b.entries[0] = { ...two, seq: 1 };
    b.entries[1] = { ...one, seq: 2 };
  });
  t.is(swapped.code, 1);
  t.like(swapped.result, { intact: false, broken_at: 1, problem: 'chain_broken' });

  // Pinned to other keys than the anchor's: the chain does not validate.
  const strangers = join(scratch, 'stranger-jwks.json');
  writeFileSync(
    strangers,
    JSON.stringify({
      keys: [
        {
          kty: 'EC',
          crv: 'P-256',
          kid: 'stranger',
          x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
          y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        },
      ],
    }),
  );
  const foreign = await cli(
    'exchange',
    'log',
    'verify',
    '--file',
    file,
    '--trust-anchor',
    fed.url('national'),
    '--trust-anchor-jwks',
    strangers,
  );
  t.is(foreign.code, 1);
  t.like(JSON.parse(foreign.stdout), { intact: false, problem: 'trust_chain' });
});

test('usage: the entity must be a data-sharing node; --entity and --file exclude each other', async (t) => {
  const op = await cli('exchange', 'log', 'verify', '--entity', 'gz');
  t.is(op.code, 2);
  t.regex(op.stderr, /gz is not a services entity/);
  const both = await cli('exchange', 'log', 'verify', '--entity', 'registries', '--file', 'x.json');
  t.is(both.code, 2);
  const noFile = await cli('exchange', 'log', 'export', '--entity', 'registries');
  t.is(noFile.code, 2);
  t.regex(noFile.stderr, /needs the FILE/);
});
