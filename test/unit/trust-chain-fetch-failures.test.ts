/**
 * A statement that did not come is told apart from one that came wrong by typed fields
 * (TrustChainError.httpStatus, .unanswered), never by the text of the message: a broker tells the
 * person "try later" for the first and "not trusted" for the second (federation/trusted-op.ts).
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrustChainError } from '../../federation/federation-errors.ts';
import { httpStatementFetcher, resolveTrustChain } from '../../federation/trust-chain.ts';
import { UntrustedOp, TrustedOps } from '../../federation/trusted-op.ts';

async function serve(status: number): Promise<{ server: Server; base: string }> {
  const server = createServer((_req, res) => void res.writeHead(status, { 'content-type': 'text/plain' }).end('no'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const anchor = { entityId: 'http://127.0.0.1:1/national', jwks: { keys: [] } };
const resolveOf = (entityId: string) =>
  resolveTrustChain(entityId, { trustAnchors: [anchor], fetcher: httpStatementFetcher(), allowHttpEntityIds: true });

test('an HTTP answer other than 200 carries its status and is an answer; a closed port is no answer', async (t) => {
  const { server, base } = await serve(503);
  const answered = await t.throwsAsync(resolveOf(`${base}/gz`), { instanceOf: TrustChainError });
  t.like(answered, { check: 'fetch_failed', httpStatus: 503, unanswered: false });
  await new Promise((resolve) => server.close(resolve));
  const silent = await t.throwsAsync(resolveOf(`${base}/gz`), { instanceOf: TrustChainError });
  t.like(silent, { check: 'fetch_failed', httpStatus: undefined, unanswered: true });
});

test('an OP whose configuration does not come is unreachable; one that answers an error is untrusted', async (t) => {
  const { server, base } = await serve(500);
  const ops = new TrustedOps({ trustAnchors: [anchor], allowHttpEntityIds: true });
  t.like(await t.throwsAsync(ops.get(`${base}/gz`), { instanceOf: UntrustedOp }), {
    unreachable: false,
    status: 403,
    code: 'untrusted_op',
  });
  await new Promise((resolve) => server.close(resolve));
  t.like(await t.throwsAsync(ops.get(`${base}/sz`), { instanceOf: UntrustedOp }), {
    unreachable: true,
    status: 503,
    code: 'temporarily_unavailable',
  });
});
