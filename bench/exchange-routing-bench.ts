/**
 * What routing a data request across provinces adds (docs/exchange.md): the result of a person's
 * case held at Guangzhou's node, asked (a) by Guangzhou's own node — no hop: the baseline — and
 * (b) by Zhejiang's, routed zj → national → gd → gz and back (three hops, each with an entity
 * assertion checked through the caller's trust chain). Both carry the same consent token (one
 * detail per requester, a standing consent), so both pay the same checks at the holder: the
 * token through the OP's trust chain, the request's signature, the live consent check at the OP,
 * the case lookup, two signed log entries and the signed response. b − a is the routing.
 *
 * Persons register at gz, a case of theirs is decided and closed there by its staff, and they
 * consent at zj's OP. Then, alternately, one local and one routed request at a time (no
 * concurrency: latencies, not throughput), timed client-side around the business system's call to
 * its node. The federation runs in this process, so the CPU time per request reported is this
 * process's: every node, the OPs and the client together.
 *
 *   npm run bench -- exchange-routing              # embedded defaults (PGlite, in-process store)
 *   DATABASE_URL=… REDIS_URL=… npm run bench -- exchange-routing
 *   BENCH_PERSONS=4 BENCH_REQUESTS=200 npm run bench -- exchange-routing
 */
import { startTestFederation } from '../test/helpers/test-federation.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { relyingParty } from '../test/helpers/flows.ts';
import { casesApi, personWithToken } from '../test/helpers/cases-api.ts';
import { closedCase, GUANGZHOU } from '../test/helpers/voice-api.ts';
import { PASSWORD } from '../test/helpers/service-tokens.ts';
import { consentAt, dataAccessDetail, requestData, trustMarksHeld, type DataRequestBody } from '../test/helpers/exchange-flows.ts';
import { ascending, ms, percentile, processCpuMs, round, storage, type BenchOptions, type Figures } from './measure.ts';

const ATTRIBUTES = ['case_number', 'outcome', 'result_name'];
const HOPS = 3;

export async function exchangeRoutingBenchmark(opts: BenchOptions): Promise<Figures> {
  const persons = opts.smoke ? 1 : Number(process.env.BENCH_PERSONS ?? 4);
  const requests = opts.smoke ? 3 : Number(process.env.BENCH_REQUESTS ?? 200);
  const fed = await startTestFederation(['gz', 'zj', 'gz-services', 'gd-services', 'zj-services', 'registries']);
  try {
    await trustMarksHeld(fed, ['gz', 'zj', 'gd']);
    const holder = fed.url('gz-services');
    const api = casesApi(fed, 'gz-services');
    const officer = await personWithToken(fed, 'gz', 'gz-services');
    await api.grant(officer.person.id_number, GUANGZHOU.police, 'decider,sender');
    const rp = await relyingParty(fed, 'zj');

    console.log(`${persons} persons registered at gz, each with a closed case there and a standing consent given at zj`);
    const asks: DataRequestBody[] = [];
    for (let i = 0; i < persons; i++) {
      const applicant = await personWithToken(fed, 'gz', 'gz-services');
      const number = await closedCase(api, GUANGZHOU, applicant, officer);
      const detail = (requester: string) =>
        dataAccessDetail({
          holder,
          requester: fed.url(requester),
          dataset: 'case-results',
          attributes: ATTRIBUTES,
          purpose: 'social-insurance',
          case: number,
        });
      const { accessToken } = await consentAt(rp, new UserAgent(), {
        identifier: applicant.person.id_number,
        password: PASSWORD,
        details: [detail('gz-services'), detail('zj-services')],
        mode: '30',
      });
      if (!accessToken) throw new Error('no consent token');
      asks.push({
        holder,
        access_token: accessToken,
        subject: { kind: 'natural', id_number: applicant.person.id_number },
        dataset: 'case-results',
        attributes: ATTRIBUTES,
        purpose: 'social-insurance',
        case: number,
      });
    }

    const timings = { local: [] as number[], routed: [] as number[] };
    let errors = 0;
    const timed = async (kind: 'local' | 'routed', node: string, body: DataRequestBody) => {
      const t0 = performance.now();
      const answer = await requestData(fed, node, body);
      const elapsed = performance.now() - t0;
      if (answer.status === 200) timings[kind].push(elapsed);
      else {
        errors++;
        console.error(`${kind} request refused: ${answer.status} ${JSON.stringify(answer.json)}`);
      }
    };
    // Warm: trust chains, keys and statements resolved once on every path.
    for (const ask of asks) {
      await timed('local', 'gz-services', ask);
      await timed('routed', 'zj-services', ask);
    }
    timings.local.length = 0;
    timings.routed.length = 0;
    const cpu0 = processCpuMs();
    for (let i = 0; i < requests; i++) {
      const ask = asks[i % asks.length]!;
      await timed('local', 'gz-services', ask);
      await timed('routed', 'zj-services', ask);
    }
    const cpuPerRequest = (processCpuMs() - cpu0) / (2 * requests);

    const local = ascending(timings.local);
    const routed = ascending(timings.routed);
    const p = (xs: number[], q: number) => (xs.length ? percentile(xs, q / 100) : NaN);
    console.log(`local   (gz asks gz)              p50 ${ms(p(local, 50))}  p90 ${ms(p(local, 90))}  (${local.length})`);
    console.log(`routed  (zj → national → gd → gz)  p50 ${ms(p(routed, 50))}  p90 ${ms(p(routed, 90))}  (${routed.length})`);
    console.log(
      `added by routing at p50: ${ms(p(routed, 50) - p(local, 50))} for ${HOPS} hops; process CPU per request ${ms(cpuPerRequest)}`,
    );
    return {
      storage: storage(fed.config),
      persons,
      requests,
      hops: HOPS,
      local_p50_ms: round(p(local, 50)),
      routed_p50_ms: round(p(routed, 50)),
      added_p50_ms: round(p(routed, 50) - p(local, 50)),
      local_p90_ms: round(p(local, 90)),
      routed_p90_ms: round(p(routed, 90)),
      process_cpu_ms_per_request: round(cpuPerRequest),
      request_errors: errors,
    };
  } finally {
    await fed.close();
  }
}
