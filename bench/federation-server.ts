/**
 * The federation a benchmark loads, in a process of its own (as in a deployment, and so that the
 * CPU time it reports is the servers' alone). Started by bench/federation-process.ts with the IDs
 * of the entities to run; answers its questions over IPC: this process's CPU time, argon2id
 * verify times measured here, on the cores the servers use, the storage operations of its
 * entities so far (store-use.ts), and CPU profiles of a stretch.
 */
import { startTestFederation } from '../test/helpers/test-federation.ts';
import { argon2Verify, processCpuMs } from './measure.ts';
import { startCpuProfile } from './cpu-profile.ts';
import { addStoreUse, instrumentStores, noStoreUse, type StoreUse } from './store-use.ts';
import type { FederationReady, ServerAnswer, ServerQuestion } from './federation-process.ts';

const ids = process.argv.slice(2);
const fed = await startTestFederation(ids.length ? ids : undefined);
const storeUse = new Map<string, StoreUse>();
for (const h of fed.host.entities) instrumentStores(h.entity.id, h.runtime.db, h.runtime.kv, () => storeUse);

let stopProfile: (() => Promise<void>) | undefined;

async function answer(question: ServerQuestion): Promise<unknown> {
  switch (question.kind) {
    case 'profile':
      stopProfile = await startCpuProfile(question.name);
      return null;
    case 'profile-end':
      await stopProfile?.();
      stopProfile = undefined;
      return null;
    case 'cpu':
      return processCpuMs();
    case 'store':
      return [...storeUse.values()].reduce(addStoreUse, noStoreUse());
    case 'argon2':
      return argon2Verify(question.verifies);
  }
}

let closing: Promise<void> | undefined;
const close = () => (closing ??= fed.close().finally(() => process.exit(0)));

process.on('message', (question: ServerQuestion | { kind: 'close' }) => {
  if (question.kind === 'close') return void close();
  answer(question).then(
    (value) => process.send!({ id: question.id, value } satisfies ServerAnswer),
    (err: Error) => process.send!({ id: question.id, error: err.message } satisfies ServerAnswer),
  );
});
// The benchmark ended without closing (killed, crashed): drop what this run created all the same.
process.on('disconnect', () => void close());
process.send!({ topologyFile: fed.topologyFile, config: fed.config } satisfies FederationReady);
