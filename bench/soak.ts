/**
 * Soak: mixed traffic at a fixed rate for a long time, to show that nothing degrades (issue 18,
 * target: no errors, memory flat). The federation (national, gd, gz, zj, the services entity)
 * runs in a process of its own; people registered at gz through its pages, then, started at a
 * fixed rate whether or not the previous ones have finished (an open loop, as real traffic is):
 *   refresh     a refresh grant at gz (each person's tokens rotate, never two at once)
 *   catalog     a catalog search (我要查) at the services entity
 *   login       a password login at gz in a fresh browser (PAR-less code flow with PKCE)
 *   cross-tier  a login at zj in a fresh browser: zj → national → gd → gz and back, password at gz
 *   application an application to gz-services (新生儿入户一件事, materials from e-licences) with the
 *               person's services access token, renewed by a sign-in when it is about to expire
 * in the proportions of MIX. Every REPORT interval a line: operations and errors per kind, p50/p99,
 * and the server process's resident memory, heap and CPU, read from an entity's /metrics (the
 * process's own figures, the same at every entity it hosts). Browsers come from many addresses
 * (X-Forwarded-For, the servers trusting it as behind a proxy), as people do: the per-address
 * limits of the registry of homes stay out of the way.
 *
 *   npm run bench -- soak --minutes 10 --rate 8
 *   BENCH_PERSONS (default 8), BENCH_SOAK_REPORT_SECONDS (default 30)
 */
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { authorize, newPerson, oidc, passwordLogin, redeem, registerOnPage, relyingParty, type Person } from '../test/helpers/flows.ts';
import { loginAt, opSite } from '../test/helpers/recognition-sites.ts';
import { scrape, total } from '../test/helpers/metrics-scrape.ts';
import { PASSWORD, serviceToken } from '../test/helpers/service-tokens.ts';
import { casesApi } from '../test/helpers/cases-api.ts';
import { until } from '../test/helpers/until.ts';
import { TTL } from '../idp/oidc/provider-config.ts';
import { startFederationProcess, type FederationProcess } from './federation-process.ts';
import { ascending, percentile, round, storage, type BenchOptions, type Figures } from './measure.ts';

const MIX = { refresh: 4, catalog: 3, login: 2, 'cross-tier': 1, application: 1 } as const;
/** 广州市新生儿入户一件事 (as bench/cases.ts): every material comes from an e-licence, no upload. */
const ITEM = '11440100000101002C3200101013000';
/** A services token this close to its expiry is renewed before an application. */
const TOKEN_MARGIN_MS = 60_000;
type Kind = keyof typeof MIX;
const KINDS = Object.keys(MIX) as Kind[];
const QUERIES = ['身份证', '结婚登记', '营业执照', '社保转移', '公积金提取', '驾驶证', '户口迁移', '居民身分证换领'];
/** Operations under way beyond which a start is counted late and skipped: the servers are not keeping up. */
const MAX_IN_FLIGHT = 256;
export const SOAK_DEFAULTS = { minutes: 10, rate: 8 };

/** A browser behind an address of its own, as the proxy in front of the entities reports it. */
class AddressedAgent extends UserAgent {
  private readonly address = `10.${randomInt(256)}.${randomInt(256)}.${1 + randomInt(254)}`;
  override request(url: string, init: Parameters<UserAgent['request']>[1] = {}) {
    return super.request(url, { ...init, headers: { ...init.headers, 'x-forwarded-for': this.address } });
  }
}

/** The kinds in MIX's proportions, interleaved. */
function schedule(): Kind[] {
  const slots: { kind: Kind; at: number }[] = [];
  for (const kind of KINDS) for (let i = 0; i < MIX[kind]; i++) slots.push({ kind, at: (i + 0.5) / MIX[kind] });
  return slots.sort((a, b) => a.at - b.at).map((s) => s.kind);
}

interface Sample {
  minute: number;
  rssMb: number;
  heapMb: number;
}

/** Least-squares slope of memory over time, in MB per minute. */
function slope(samples: Sample[], of: (s: Sample) => number): number {
  if (samples.length < 2) return 0;
  const mx = samples.reduce((s, x) => s + x.minute, 0) / samples.length;
  const my = samples.reduce((s, x) => s + of(x), 0) / samples.length;
  const num = samples.reduce((s, x) => s + (x.minute - mx) * (of(x) - my), 0);
  const den = samples.reduce((s, x) => s + (x.minute - mx) ** 2, 0);
  return den ? num / den : 0;
}

async function people(server: FederationProcess, count: number) {
  const { fed } = server;
  const gz = await relyingParty(fed, 'gz');
  const zj = opSite(fed, 'zj');
  const registered: { person: Person; refreshTokens: string[] }[] = [];
  for (let i = 0; i < count; i++) {
    const person = await newPerson(fed);
    const ua = new AddressedAgent();
    const a = await authorize(gz, ua);
    const first = await redeem(gz, await registerOnPage(fed, ua, a.page, person, PASSWORD), a);
    // A second grant: the pool of refresh tokens is twice the people, so refreshes seldom wait.
    const other = new AddressedAgent();
    const b = await authorize(gz, other);
    const second = await redeem(gz, await passwordLogin(other, b.page, person.id_number, PASSWORD), b);
    // The first visit to zj (consent, the recognized account): the soak's are returning visitors on new devices.
    await loginAt(new AddressedAgent(), zj, person.id_number, PASSWORD);
    registered.push({ person, refreshTokens: [first.refresh_token!, second.refresh_token!] });
  }
  return { gz, zj, registered };
}

export async function soakBenchmark(opts: BenchOptions): Promise<Figures> {
  const minutes = opts.smoke ? 0.1 : (opts.minutes ?? SOAK_DEFAULTS.minutes);
  const rate = opts.smoke ? 4 : (opts.rate ?? SOAK_DEFAULTS.rate);
  const reportSeconds = opts.smoke ? 2 : Number(process.env.BENCH_SOAK_REPORT_SECONDS ?? 30);
  const metricsToken = randomBytes(32).toString('hex');
  const server = await startFederationProcess(['gz', 'zj', 'registries', 'gz-services'], {
    GOV_ID_METRICS_TOKEN: metricsToken,
    GOV_ID_TRUST_PROXY: '1',
  });
  try {
    const { fed } = server;
    const count = opts.smoke ? 2 : Number(process.env.BENCH_PERSONS ?? 8);
    console.log(`storage: ${storage()}; ${count} people; ${rate} operations/s for ${minutes} min; mix ${JSON.stringify(MIX)}`);
    const { gz, zj, registered } = await people(server, count);
    const tokens = registered.flatMap((r, i) => r.refreshTokens.map((token) => ({ token, person: i })));
    const catalog = fed.topology.services().url;
    const cases = casesApi(fed, 'gz-services');
    const applicants = registered.map(({ person }) => ({ person, token: '', renewAt: 0 }));
    const tokenOf = async (applicant: (typeof applicants)[number]) => {
      if (Date.now() >= applicant.renewAt) {
        const renewAt = Date.now() + TTL.AccessToken * 1000 - TOKEN_MARGIN_MS;
        applicant.token = (
          await serviceToken(fed, { op: 'gz', resource: cases.base, person: applicant.person, ua: new AddressedAgent() })
        ).accessToken;
        applicant.renewAt = renewAt;
      }
      return applicant.token;
    };
    // gz-services trusts gz's tokens once it has resolved gz's chain and trust mark.
    const probe = await tokenOf(applicants[0]!);
    await until(async () => (await cases.call('GET', '/me', { token: probe })).status === 200, 'gz-services to take gz tokens', 120_000);
    let applications = 0;

    const operations: Record<Kind, () => Promise<void>> = {
      async refresh() {
        const slot = tokens.shift();
        if (!slot) throw new Error('no refresh token free: more refreshes at once than tokens');
        try {
          slot.token = (await oidc.refreshTokenGrant(gz.config, slot.token)).refresh_token!;
        } finally {
          tokens.push(slot);
        }
      },
      async catalog() {
        const res = await fetch(`${catalog}/catalog/search?q=${encodeURIComponent(QUERIES[randomInt(QUERIES.length)]!)}`);
        if (res.status !== 200) throw new Error(`catalog search answered ${res.status}`);
        await res.arrayBuffer();
      },
      async login() {
        const { person } = registered[randomInt(registered.length)]!;
        const ua = new AddressedAgent();
        const a = await authorize(gz, ua);
        await redeem(gz, await passwordLogin(ua, a.page, person.id_number, PASSWORD), a);
      },
      async 'cross-tier'() {
        const { person } = registered[randomInt(registered.length)]!;
        const { signedIn } = await loginAt(new AddressedAgent(), zj, person.id_number, PASSWORD);
        if (signedIn.home !== fed.url('gz')) throw new Error(`signed in at zj with home ${signedIn.home}`);
      },
      async application() {
        const token = await tokenOf(applicants[randomInt(applicants.length)]!);
        const reply = await cases.call('POST', '/cases', {
          token,
          headers: { 'idempotency-key': `soak-${process.pid}-${applications++}` },
          body: { item_code: ITEM, delivery: 'pickup', materials: [0, 1, 2, 3].map((slot) => ({ slot, reference: `e-license:${slot}` })) },
        });
        if (reply.status !== 201) throw new Error(`application answered ${reply.status} ${JSON.stringify(reply.json)}`);
      },
    };

    const memory = async (): Promise<{ rssMb: number; heapMb: number }> => {
      const samples = await scrape(fed.url('gd'), metricsToken);
      return {
        rssMb: total(samples, 'process_resident_memory_bytes') / 2 ** 20,
        heapMb: total(samples, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      };
    };

    const latencies = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const errors = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
    const firstError = new Map<Kind, string>();
    let window: number[] = [];
    let late = 0;
    const inFlight = new Set<Promise<void>>();
    const start = (kind: Kind) => {
      if (inFlight.size >= MAX_IN_FLIGHT) return void late++;
      const t0 = performance.now();
      const run = operations[kind]().then(
        () => {
          const ms = performance.now() - t0;
          latencies[kind].push(ms);
          window.push(ms);
        },
        (err: Error) => {
          errors[kind]++;
          if (!firstError.has(kind)) {
            firstError.set(kind, err.message);
            console.error(`${kind}: ${err.message}`);
          }
        },
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    };

    const samples: Sample[] = [];
    const cpu0 = await server.cpuMs();
    const t0 = performance.now();
    const elapsedMinutes = () => (performance.now() - t0) / 60_000;
    const report = async () => {
      const m = await memory();
      samples.push({ minute: elapsedMinutes(), ...m });
      const sorted = ascending(window);
      window = [];
      const done = KINDS.map((k) => `${k} ${latencies[k].length}${errors[k] ? `/${errors[k]} errors` : ''}`).join(', ');
      const times = sorted.length ? `  p50 ${percentile(sorted, 0.5).toFixed(0)} ms p99 ${percentile(sorted, 0.99).toFixed(0)} ms` : '';
      console.log(
        `${elapsedMinutes().toFixed(1).padStart(5)} min  ${done}${times}  rss ${m.rssMb.toFixed(0)} MiB heap ${m.heapMb.toFixed(0)} MiB${late ? `  late ${late}` : ''}`,
      );
    };

    await report();
    const order = schedule();
    const end = t0 + minutes * 60_000;
    let nextReport = t0 + reportSeconds * 1000;
    for (let i = 0, due = t0; due < end; i++, due += 1000 / rate) {
      await sleep(Math.max(0, due - performance.now()));
      start(order[i % order.length]!);
      if (performance.now() >= nextReport) {
        nextReport += reportSeconds * 1000;
        void report();
      }
    }
    await Promise.all(inFlight);
    const seconds = (performance.now() - t0) / 1000;
    const cpuMs = (await server.cpuMs()) - cpu0;
    await report();

    const ok = KINDS.reduce((s, k) => s + latencies[k].length, 0);
    const failed = KINDS.reduce((s, k) => s + errors[k], 0);
    const perKind = Object.fromEntries(
      KINDS.flatMap((k) => {
        const name = k.replace('-', '_');
        const sorted = ascending(latencies[k]);
        return [
          [`${name}_ok`, sorted.length],
          [`${name}_errors`, errors[k]],
          [`${name}_p50_ms`, round(percentile(sorted, 0.5))],
          [`${name}_p99_ms`, round(percentile(sorted, 0.99))],
        ];
      }),
    );
    const [first, last] = [samples[0]!, samples.at(-1)!];
    return {
      storage: storage(),
      minutes: round(seconds / 60),
      rate_per_s: rate,
      achieved_per_s: round(ok / seconds),
      operations: ok,
      errors: failed,
      late,
      ...perKind,
      rss_start_mb: round(first.rssMb, 1),
      rss_end_mb: round(last.rssMb, 1),
      rss_max_mb: round(Math.max(...samples.map((s) => s.rssMb)), 1),
      heap_start_mb: round(first.heapMb, 1),
      heap_end_mb: round(last.heapMb, 1),
      rss_slope_mb_per_min: round(slope(samples, (s) => s.rssMb)),
      heap_slope_mb_per_min: round(slope(samples, (s) => s.heapMb)),
      server_cpu_ms_per_op: round(cpuMs / Math.max(1, ok)),
    };
  } finally {
    await server.close();
  }
}
