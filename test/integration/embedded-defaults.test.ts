/**
 * The embedded defaults, whatever the environment says: the whole demo federation on PGlite
 * persisted in a data folder and the in-process store. An account registered before a restart
 * still logs in after it, at every OP of the demo.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost } from '../../cli/entity-host.ts';
import { createLogger } from '../../infra/log.ts';
import { testTopology, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { authorize, newPerson, passwordLogin, redeem, registerOnPage, relyingParty } from '../helpers/flows.ts';

test('every OP of the demo registers and logs in on the embedded defaults, across a restart', async (t) => {
  const { topology, raw } = await testTopology();
  const dataDir = mkdtempSync(join(tmpdir(), 'gov-id-embedded-'));
  const topologyFile = join(dataDir, 'topology.json');
  writeFileSync(topologyFile, JSON.stringify(raw));
  const config = { dataDir, schemaPrefix: '', databaseUrl: undefined, redisUrl: undefined };
  const ids = topology.entities.map((e) => e.id);
  const boot = () => startHost({ ...config, topology, demo: true, log: createLogger({}, 'error') }, ids);
  const fedOf = (host: Awaited<ReturnType<typeof boot>>): TestFederation => ({
    topology,
    topologyFile,
    host,
    config,
    url: (id) => topology.get(id).url,
    close: host.close,
  });

  const password = 'Embedded-pass1';
  const registered: { op: string; idNumber: string; sub: string }[] = [];
  let host = await boot();
  try {
    const fed = fedOf(host);
    for (const op of topology.ops().map((e) => e.id)) {
      const rp = await relyingParty(fed, op);
      const person = await newPerson(fed);
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      const tokens = await redeem(rp, await registerOnPage(fed, ua, a.page, person, password), a);
      t.is(tokens.claims()!.home, fed.url(op));
      registered.push({ op, idNumber: person.id_number, sub: tokens.claims()!.sub });
    }
  } finally {
    await host.close();
  }

  host = await boot();
  try {
    const fed = fedOf(host);
    for (const r of registered) {
      const rp = await relyingParty(fed, r.op);
      const ua = new UserAgent();
      const a = await authorize(rp, ua);
      const tokens = await redeem(rp, await passwordLogin(ua, a.page, r.idNumber, password), a);
      t.is(tokens.claims()!.sub, r.sub, `${r.op}: same subject after restart`);
    }
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
