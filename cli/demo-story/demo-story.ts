/**
 * The story of issue 15's tests, step by step, against a running demo over HTTP only: people and
 * staff register at their OP, a licence is applied for (a step-up asked first for an item of a
 * higher level), corrected once, decided, published and closed; a joint item runs in parallel
 * with one overdue opinion; progress is read by number; the person applies in another province
 * (zj) for an item of their city, received there and handed over; supervision counts it all. Each step says
 * what it expects, prints what it got (case numbers included), and the story stops at the first
 * step that did not give the expected answer.
 */
import type { Topology } from '../../federation/topology.ts';
import { callAdmin } from '../../infra/admin-client.ts';
import { call, pdf, upload, type CallOptions, type Reply } from './cases-calls.ts';
import { StoryLogins, type StoryPerson } from './story-logins.ts';

/** 医师执业注册 at 广州市卫生健康委员会: 行政许可 (published), promised 10 of 20 working days. */
const LICENSING = '11440100000106040E3010106002000';
const HEALTH = '11440100000106040E';
/** 广州市新生儿入户一件事 at 广州市公安局, with three assisting departments. */
const JOINT = '11440100000101002C3200101013000';
const POLICE = '11440100000101002C';
const ASSISTING = ['11440100000103013Y', '11440100000111018P', '11440100000106040E'];
/** 普通护照签发: real-name level loa2. */
const PASSPORT = '11440100000101002C3010101009000';
/** 往来港澳通行证签发 at 广州市公安局: handled nationwide, so received anywhere (跨省通办). */
const PERMIT = '11440100000101002C3010101010000';
/** 杭州市公安局: an authority of Zhejiang's platform, whose window receives for others. */
const HZ_POLICE = '11330100000101005T';
/** Where the person applies across provinces. */
const ACROSS = 'zj';

export class StoryFailure extends Error {}

export interface StoryOptions {
  topology: Topology;
  dataDir: string;
  /** Where the people register and log in. */
  op: string;
  /** The services entity that receives and runs the cases. */
  services: string;
  print: (line: string) => void;
}

function expect(reply: Reply, status: number, what: Record<string, unknown> = {}): Reply {
  const wrong = Object.entries(what).filter(([k, v]) => reply.json[k] !== v);
  if (reply.status !== status || wrong.length)
    throw new StoryFailure(`expected ${status} ${JSON.stringify(what)}, got ${reply.status} ${JSON.stringify(reply.json).slice(0, 400)}`);
  return reply;
}

export async function runStory(opts: StoryOptions): Promise<boolean> {
  const services = opts.topology.get(opts.services);
  const base = services.url;
  const logins = new StoryLogins(opts.topology, opts.dataDir, base);
  const api = (method: string, path: string, o?: CallOptions) => call(base, method, path, o);
  const grant = (p: StoryPerson, authority: string, role: string) =>
    callAdmin(services, opts.dataDir, 'POST', '/admin/staff/grants', { id_number: p.id_number, authority, role });
  const staffDo = (p: StoryPerson, number: string, action: string, body: unknown = {}) =>
    api('POST', `/staff/cases/${number}/${action}`, { token: p.token, body });
  let keys = 0;
  const key = () => `story-${Date.now()}-${++keys}`;

  let n = 0;
  const step = async (title: string, run: () => Promise<string | void>) => {
    n++;
    try {
      const said = await run();
      opts.print(`  ✔ ${String(n).padStart(2)}. ${title}${said ? ` — ${said}` : ''}`);
    } catch (err) {
      opts.print(`  ✘ ${String(n).padStart(2)}. ${title}: ${(err as Error).message}`);
      throw new StoryFailure(title);
    }
  };

  let applicant!: StoryPerson;
  let officer!: StoryPerson;
  let police!: StoryPerson;
  const assisting: StoryPerson[] = [];
  let licence = '';
  let queryCode = '';
  let joint = '';
  let across = '';

  try {
    opts.print(`The demo story at ${opts.services} (${base}), people of ${opts.op}:`);
    await step(`a person registers at ${opts.op} and logs in for the services entity`, async () => {
      applicant = await logins.signUp(opts.op);
      return `${applicant.name}, phone ending ${applicant.phone.slice(-4)}`;
    });
    await step('staff register; their authorities grant them roles', async () => {
      officer = await logins.signUp(opts.op);
      police = await logins.signUp(opts.op);
      await grant(officer, HEALTH, 'receiver,acceptor,reviewer,decider,sender,rectifier');
      await grant(police, POLICE, 'acceptor,reviewer,decider,sender');
      for (const authority of ASSISTING) {
        const reviewer = await logins.signUp(opts.op);
        await grant(reviewer, authority, 'reviewer');
        assisting.push(reviewer);
      }
      return `an officer at ${HEALTH}, a lead at ${POLICE}, reviewers at ${ASSISTING.length} assisting departments`;
    });
    await step('an item of real-name level loa2 asks for a step-up', async () => {
      const r = await api('POST', '/cases', {
        token: applicant.token,
        headers: { 'idempotency-key': key() },
        body: { item_code: PASSPORT, delivery: 'pickup', materials: [] },
      });
      expect(r, 401, { error: 'insufficient_user_authentication' });
      return r.headers.get('www-authenticate') ?? '';
    });
    const licenceBody = async () => {
      const form = expect(await upload(base, applicant.token, pdf('医师执业注册申请审核表')), 201);
      return {
        item_code: LICENSING,
        delivery: 'electronic',
        materials: [
          { slot: 0, upload_id: form.json.upload_id },
          { slot: 1, reference: 'e-license:医师资格证书' },
          { slot: 2, reference: 'e-license:居民身份证' },
        ],
      };
    };
    await step('the person applies for 医师执业注册: an upload and two e-licenses; a receipt at once', async () => {
      const idempotency = key();
      const body = await licenceBody();
      const r = expect(await api('POST', '/cases', { token: applicant.token, headers: { 'idempotency-key': idempotency }, body }), 201);
      licence = String(r.json.number);
      queryCode = String(r.json.query_code);
      const again = await api('POST', '/cases', { token: applicant.token, headers: { 'idempotency-key': idempotency }, body });
      expect(again, 200, { number: licence, replayed: true });
      return `case ${licence}, acceptance due ${String(r.json.acceptance_due)}; the retried submit answered the same receipt`;
    });
    await step('the officer asks for one correction, listing everything missing; the clock stops', async () => {
      const r = expect(await staffDo(officer, licence, 'request_correction', { missing: [{ slot: 0, reason: '申请审核表未盖章' }] }), 200, {
        state: 'correction_requested',
      });
      const clock = r.json.clock as { promised: { status: string } };
      if (clock.promised.status !== 'paused') throw new StoryFailure(`the clock is ${clock.promised.status}, not paused`);
      return licence;
    });
    await step('the person supplies the corrected material', async () => {
      const form = expect(await upload(base, applicant.token, pdf('盖章后的申请审核表')), 201);
      expect(
        await api('POST', `/cases/${licence}/supply`, {
          token: applicant.token,
          body: { materials: [{ slot: 0, upload_id: form.json.upload_id }] },
        }),
        200,
        { state: 'received' },
      );
      return licence;
    });
    await step('another person cannot read the case', async () => {
      expect(await api('GET', `/cases/${licence}`, { token: police.token }), 403, { error: 'not_your_case' });
    });
    await step('accepted, reviewed in writing, decided: approved', async () => {
      expect(await staffDo(officer, licence, 'accept'), 200, { state: 'under_review' });
      expect(await staffDo(officer, licence, 'record_review', { method: 'written', finding: '材料齐全，符合条件' }), 200);
      expect(await staffDo(officer, licence, 'complete_review'), 200, { state: 'reviewed' });
      const r = expect(await staffDo(officer, licence, 'decide', { outcome: 'approved' }), 200, { state: 'decided' });
      return `${licence}, delivery due ${String((r.json.clock as { promised: { due: string } }).promised.due)}`;
    });
    await step('the result is made, delivered, the decision published, the case closed', async () => {
      const made = expect(await staffDo(officer, licence, 'make_result'), 200, { state: 'result_made' });
      expect(await staffDo(officer, licence, 'deliver'), 200, { state: 'delivered' });
      expect(await staffDo(officer, licence, 'publish'), 200, { state: 'published' });
      expect(await staffDo(officer, licence, 'close'), 200, { state: 'closed', outcome: 'approved' });
      return `${licence}: ${String((made.json.result as { name: string }).name)}`;
    });
    await step("the person's space shows every step, its duration and deadline, and the notices", async () => {
      const r = expect(await api('GET', `/cases/${licence}`, { token: applicant.token }), 200, { state: 'closed' });
      const steps = (r.json.timeline as unknown[]).length;
      const notices = (r.json.notices as unknown[]).length;
      if (steps < 11 || notices < 10) throw new StoryFailure(`${steps} steps and ${notices} notices`);
      return `${steps} steps, ${notices} notices`;
    });
    await step(
      'the person rates the closed case "very dissatisfied" with a complaint: a rectification task for the authority',
      async () => {
        const r = expect(
          await api('POST', '/ratings', {
            token: applicant.token,
            body: { case_number: licence, level: 1, comment: '材料补正通知来得太晚', complaint: '窗口要求了办事指南没有列出的材料。' },
          }),
          201,
          { bad: true, status: 'rectifying', authority: HEALTH },
        );
        const task = r.json.task as { id: string; due_on: string };
        expect(await api('POST', '/ratings', { token: applicant.token, body: { case_number: licence, level: 5 } }), 409);
        expect(
          await api('POST', `/staff/rectifications/${task.id}/call_back`, {
            token: officer.token,
            body: { reached: true, note: '电话回访，情况属实。' },
          }),
          200,
        );
        expect(
          await api('POST', `/staff/rectifications/${task.id}/resolve`, {
            token: officer.token,
            body: { resolution: 'fixed_now', explanation: '已按办事指南重新培训窗口人员。' },
          }),
          200,
          { state: 'resolved' },
        );
        expect(await api('POST', `/my/ratings/${String(r.json.id)}/view`, { token: applicant.token, body: { satisfied: true } }), 200);
        return `task due ${task.due_on}: called back, fixed at once, the person satisfied`;
      },
    );
    await step('anyone follows the case by its number and the phone tail, or the query code, without logging in', async () => {
      expect(await api('POST', '/cases/lookup', { body: { number: licence, phone_tail: applicant.phone.slice(-4) } }), 200, {
        state: 'closed',
      });
      expect(await api('POST', '/cases/lookup', { body: { number: licence, query_code: queryCode } }), 200);
      const wrong = applicant.phone.slice(-4) === '0000' ? '1111' : '0000';
      expect(await api('POST', '/cases/lookup', { body: { number: licence, phone_tail: wrong } }), 404, { error: 'unknown_case' });
    });
    await step('the person applies for 广州市新生儿入户一件事, handled by four departments; the lead accepts', async () => {
      const r = expect(
        await api('POST', '/cases', {
          token: applicant.token,
          headers: { 'idempotency-key': key() },
          body: { item_code: JOINT, delivery: 'pickup', materials: [0, 1, 2, 3].map((slot) => ({ slot, reference: `e-license:${slot}` })) },
        }),
        201,
      );
      joint = String(r.json.number);
      const accepted = expect(await staffDo(police, joint, 'accept', { opinion_days: 1 }), 200, { state: 'under_review' });
      return `case ${joint}, ${(accepted.json.opinions as unknown[]).length} opinions asked`;
    });
    await step('two departments give their opinion; the lead cannot finish without the third', async () => {
      expect(await staffDo(assisting[0]!, joint, 'give_opinion', { opinion: 'agree', reason: '已办理参保登记' }), 200);
      expect(await staffDo(assisting[1]!, joint, 'give_opinion', { opinion: 'agree', reason: '已办理医保登记' }), 200);
      expect(await staffDo(police, joint, 'record_review', { method: 'written', finding: '材料齐全' }), 200);
      expect(await staffDo(police, joint, 'complete_review'), 409, { error: 'opinions_pending' });
      return joint;
    });
    await step('a week passes (demo clock): the third opinion is overdue in its department’s queue', async () => {
      expect(await api('POST', `/demo/cases/${joint}/age`, { body: { days: 7 } }), 200);
      const q = expect(await api('GET', '/staff/queue?status=overdue', { token: assisting[2]!.token }), 200);
      const owed = (q.json.opinions as { number: string; flag: string }[]).find((o) => o.number === joint);
      if (owed?.flag !== 'overdue') throw new StoryFailure(`the opinion is ${owed?.flag ?? 'not in the queue'}`);
      return `${joint} overdue at ${ASSISTING[2]}`;
    });
    await step('the third opinion comes; the lead decides, and the case is delivered and closed', async () => {
      expect(await staffDo(assisting[2]!, joint, 'give_opinion', { opinion: 'agree', reason: '出生医学证明核验一致' }), 200);
      expect(await staffDo(police, joint, 'complete_review'), 200, { state: 'reviewed' });
      expect(await staffDo(police, joint, 'decide', { outcome: 'approved' }), 200, { state: 'decided' });
      expect(await staffDo(police, joint, 'make_result'), 200, { state: 'result_made' });
      expect(await staffDo(police, joint, 'deliver'), 200, { state: 'delivered' });
      expect(await staffDo(police, joint, 'close'), 200, { state: 'closed' });
      return joint;
    });
    if (opts.topology.platforms.some((p) => p.code === ACROSS)) {
      const zjServices = opts.topology.servicesOf(ACROSS);
      const zjApi = (method: string, path: string, o?: CallOptions) => call(zjServices.url, method, path, o);
      let atZj!: StoryPerson;
      let window!: StoryPerson;
      await step(`the person of ${opts.op} logs in at ${ACROSS} (recognized there, the password typed at home)`, async () => {
        atZj = await logins.logIn(ACROSS, applicant, zjServices.url);
        window = await logins.signUp(ACROSS, zjServices.url);
        await callAdmin(zjServices, opts.dataDir, 'POST', '/admin/staff/grants', {
          id_number: window.id_number,
          authority: HZ_POLICE,
          role: 'receiver',
        });
        return `a receiver at ${ACROSS}'s window too`;
      });
      await step(
        `${ACROSS} receives an application for a ${opts.op} item handled nationwide, asks for one correction, hands it over signed`,
        async () => {
          const r = expect(
            await zjApi('POST', '/cases', {
              token: atZj.token,
              headers: { 'idempotency-key': key() },
              body: { item_code: PERMIT, delivery: 'pickup', materials: [{ slot: 0, reference: 'e-license:居民身份证' }] },
            }),
            201,
          );
          across = String(r.json.number);
          const correct = { token: window.token, body: { missing: [{ slot: 0, reason: '证件照片不清晰' }] } };
          expect(await zjApi('POST', `/staff/cases/${across}/request_correction`, correct), 200, { state: 'correction_requested' });
          expect(
            await zjApi('POST', `/cases/${across}/supply`, {
              token: atZj.token,
              body: { materials: [{ slot: 0, reference: 'e-license:居民身份证#2' }] },
            }),
            200,
            { state: 'received' },
          );
          expect(await zjApi('POST', `/staff/cases/${across}/hand_off`, { token: window.token, body: {} }), 200, { state: 'handed_off' });
          return `case ${across}, handed to ${services.id}`;
        },
      );
      await step(`${opts.op} accepts, decides, delivers, publishes and closes the case ${ACROSS} received`, async () => {
        for (const [action, body] of [
          ['accept', {}],
          ['record_review', { method: 'written', finding: '符合签发条件' }],
          ['complete_review', {}],
          ['decide', { outcome: 'approved' }],
          ['make_result', {}],
          ['deliver', {}],
          ['publish', {}],
        ] as const)
          expect(await staffDo(police, across, action, body), 200);
        expect(await staffDo(police, across, 'close'), 200, { state: 'closed' });
        return across;
      });
      await step(`at ${ACROSS} the person reads the same case and timeline, ${ACROSS}'s steps first`, async () => {
        const r = expect(await zjApi('GET', `/cases/${across}`, { token: atZj.token }), 200, { state: 'closed', received_here: true });
        const events = (r.json.timeline as { event: string | null }[]).map((s) => s.event);
        if (events.slice(0, 3).join() !== 'request_correction,supply,hand_off')
          throw new StoryFailure(`the timeline starts ${events.slice(0, 3).join(', ')}`);
        return `${events.length} steps`;
      });
    }
    await step('supervision counts the cases per authority and item', async () => {
      const stats = (await callAdmin(services, opts.dataDir, 'GET', `/admin/cases/stats?authority=${POLICE}`)) as {
        items: { item_code: string; closed: number; decided_late: number; average_decision_days: number | null }[];
      };
      const row = stats.items.find((i) => i.item_code === JOINT);
      if (!row || row.closed < 1) throw new StoryFailure('the joint item has no closed case in the figures');
      return `${JOINT}: ${row.closed} closed, ${row.decided_late} decided late, ${row.average_decision_days} working days on average`;
    });
  } catch (err) {
    if (err instanceof StoryFailure) return false;
    opts.print(`  ✘ ${(err as Error).message}`);
    return false;
  }
  opts.print(`Every step gave the expected answer (cases ${[licence, joint, across].filter(Boolean).join(', ')}).`);
  return true;
}
