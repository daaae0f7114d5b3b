/**
 * An OP outside any federation, for what only such an OP does (the login page's one POST): every
 * hosted OP takes part in mutual recognition, so this one is a second OP application on a hosted
 * OP's storage and keys (its accounts and clients), created without recognition and listening on a
 * port of its own, under an issuer of its own.
 */
import { createOp } from '../../idp/op-app.ts';
import { listen } from '../../infra/http-server.ts';
import { freePort, type TestFederation } from './test-federation.ts';
import type { FederationAddresses } from './flows.ts';

export interface StandaloneOp {
  url: string;
  /** The federation's addresses with the OP's replaced by this one's: clients added at the OP are clients here too. */
  addresses: FederationAddresses;
  close(): Promise<void>;
}

export async function standaloneOp(fed: TestFederation, op: string): Promise<StandaloneOp> {
  const hosted = fed.host.entities.find((e) => e.entity.id === op);
  if (!hosted) throw new Error(`${op} is not hosted by this test federation`);
  const port = await freePort();
  const url = `http://${fed.topology.host}:${port}`;
  const { app } = await createOp({
    runtime: { ...hosted.runtime, self: { ...hosted.runtime.self, url } },
    servicesUrl: fed.topology.services().url,
  });
  const listener = await listen(app.callback(), port, fed.topology.host);
  return {
    url,
    addresses: { topology: fed.topology, config: fed.config, url: (id) => (id === op ? url : fed.url(id)) },
    close: listener.close,
  };
}
