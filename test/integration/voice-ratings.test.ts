/**
 * 好差评 over HTTP with access tokens from real OP logins: a person rates a closed case "very
 * dissatisfied" with a complaint; the handling authority calls back, rectifies, the person sees
 * the outcome and says what they think of it; an appeal upheld by the supervising authority and
 * one rejected; the public figures match the ratings given; every bad input is a specific error
 * that changes nothing; the records refuse being edited.
 */
import test, { type ExecutionContext } from 'ava';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { casesApi, personWithToken, type CasesApi, type Reply } from '../helpers/cases-api.ts';
import type { Person } from '../helpers/flows.ts';
import { runCli } from '../helpers/integration-extra.ts';
import { until } from '../helpers/until.ts';
import { supervisingAuthority } from '../../services/ratings/supervision.ts';
import { closedCase, GUANGDONG_HEALTH, GUANGZHOU, MINISTRY_OF_PUBLIC_SECURITY, outbox } from '../helpers/voice-api.ts';

const CITY = GUANGZHOU;
const SERVICES = CITY.services;
const { police: POLICE, health: HEALTH, birthRegistration: BIRTH_REGISTRATION } = CITY;
type Who = { token: string; person: Person };

let fed: TestFederation;
let api: CasesApi;
let applicant: Who;
let stranger: Who;
/** Decides and closes cases at the police. */
let officer: Who;
/** Works the police's rectification tasks. */
let rectifier: Who;
/** Rectifies at the health commission: not the authority that handled the police's cases. */
let healthRectifier: Who;
/** Reviews appeals for the ministry, the police's superior: signs in at the national OP. */
let supervisor: Who;
/** A supervisor of another line (the province's health commission, the city's health commission's superior). */
let otherSupervisor: Who;

test.before(async () => {
  fed = await startTestFederation(['gz', 'registries', SERVICES]);
  api = casesApi(fed, SERVICES);
  const login = () => personWithToken(fed, 'gz', SERVICES);
  applicant = await login();
  await until(
    async () => (await api.call('GET', '/me', { token: applicant.token })).status === 200,
    'gz trusted with service tokens',
    60_000,
  );
  [stranger, officer, rectifier, healthRectifier, otherSupervisor] = await Promise.all([login(), login(), login(), login(), login()]);
  supervisor = await personWithToken(fed, 'national', SERVICES);
  await until(
    async () => (await api.call('GET', '/me', { token: supervisor.token })).status === 200,
    'national trusted with service tokens',
    60_000,
  );
  await api.grant(officer.person.id_number, POLICE, 'decider,sender');
  await api.grant(rectifier.person.id_number, POLICE, 'rectifier');
  await api.grant(healthRectifier.person.id_number, HEALTH, 'rectifier');
  await api.grant(supervisor.person.id_number, MINISTRY_OF_PUBLIC_SECURITY, 'supervisor');
  await api.grant(otherSupervisor.person.id_number, GUANGDONG_HEALTH, 'supervisor');
});
test.after.always(async () => {
  await fed?.close();
});

function problem(t: ExecutionContext, reply: Reply, status: number, error: string, description?: RegExp) {
  t.is(reply.status, status, JSON.stringify(reply.json));
  t.is(reply.json.error, error, JSON.stringify(reply.json));
  if (description) t.regex(String(reply.json.error_description), description);
}

const rate = (who: Who, body: Record<string, unknown>) => api.call('POST', '/ratings', { token: who.token, body });
const mine = async (who: Who) => (await api.call('GET', '/my/ratings', { token: who.token })).json.ratings as Record<string, unknown>[];
const step = (who: Who, task: string, name: string, body: unknown) =>
  api.call('POST', `/staff/rectifications/${task}/${name}`, { token: who.token, body });

interface Figures {
  ratings: number;
  by_level: Record<string, number>;
  bad: number;
  annulled: number;
  complaints: number;
  bad_rate: number | null;
  rectification: {
    tasks: number;
    answered: number;
    on_time: number;
    overdue: number;
    on_time_rate: number | null;
    rater_satisfied: number;
  };
}
const policeFigures = async (): Promise<Figures> => {
  const stats = await api.call('GET', `/ratings/stats?authority=${POLICE}`);
  return (stats.json.authorities as { code: string; figures: Figures }[]).find((a) => a.code === POLICE)!.figures;
};

test.serial(
  'a very dissatisfied rating with a complaint becomes a task; the authority calls back and rectifies; the rater sees the outcome',
  async (t) => {
    const number = await closedCase(api, CITY, applicant, officer);
    const given = await rate(applicant, {
      case_number: number,
      level: 1,
      criteria: { efficiency: 1, guide_accuracy: 2, convenience: 1, platform_usability: 3 },
      comment: '窗口排队两个小时 <3',
      complaint: '工作人员要求提交办事指南没有列出的材料。',
    });
    t.is(given.status, 201, JSON.stringify(given.json));
    t.like(given.json, {
      case_number: number,
      stage: 'closure',
      level: 1,
      bad: true,
      status: 'rectifying',
      authority: POLICE,
      anonymous: false,
    });
    t.is(given.json.comment, '窗口排队两个小时 <3');
    const task = given.json.task as { id: string; state: string; due_on: string };
    t.is(task.state, 'open');
    t.regex(task.due_on, /^\d{4}-\d{2}-\d{2}$/);

    // The rectifier's queue, with due dates; the detail shows the named rater's contact.
    const queue = await api.call('GET', '/staff/rectifications', { token: rectifier.token });
    t.is(queue.status, 200, JSON.stringify(queue.json));
    const queued = (queue.json.tasks as { id: string; due_on: string; clock: string; complaint: boolean }[]).find((q) => q.id === task.id)!;
    t.like(queued, { due_on: task.due_on, clock: 'on_time', complaint: true });
    const detail = await api.call('GET', `/staff/rectifications/${task.id}`, { token: rectifier.token });
    t.like(detail.json.rater, { name: applicant.person.name, phone: applicant.person.phone });
    t.is((detail.json.rating as { complaint: string }).complaint, '工作人员要求提交办事指南没有列出的材料。');

    // No resolution before the call-back of a named rater: nothing changes.
    problem(t, await step(rectifier, task.id, 'resolve', { resolution: 'fixed_now', explanation: '已整改' }), 409, 'call_back_required');
    t.is((await api.call('GET', `/staff/rectifications/${task.id}`, { token: rectifier.token })).json.state, 'open');
    // Only the handling authority's rectifiers act on its tasks.
    problem(t, await step(healthRectifier, task.id, 'call_back', { reached: true, note: '已回访' }), 403, 'outside_authority');

    const called = await step(rectifier, task.id, 'call_back', { reached: true, note: '电话回访，申请人反映窗口要求额外材料属实。' });
    t.is(called.status, 200, JSON.stringify(called.json));
    t.truthy(called.json.called_back_on);
    const resolved = await step(rectifier, task.id, 'resolve', {
      resolution: 'fixed_now',
      explanation: '已对窗口人员批评教育，严格按办事指南收取材料。',
    });
    t.is(resolved.status, 200, JSON.stringify(resolved.json));
    t.like(resolved.json, { state: 'resolved', resolution: 'fixed_now' });

    // The rater sees the outcome in their space and by SMS, and says what they think of it.
    const [rating] = await mine(applicant);
    const seen = rating!.task as { state: string; can_give_view: boolean; steps: { event: string; note: string | null }[] };
    t.like(seen, { state: 'resolved', can_give_view: true });
    t.true(seen.steps.some((s) => s.event === 'resolve' && s.note === '已对窗口人员批评教育，严格按办事指南收取材料。'));
    t.false(
      seen.steps.some((s) => s.event === 'call_back' && s.note !== null),
      'the call-back note stays with the authority',
    );
    const notices = (await api.call('GET', '/my/notices', { token: applicant.token })).json.notices as { category: string; text: string }[];
    t.true(notices.some((n) => n.category === 'replies' && n.text.includes('已立即整改')));
    t.true((await outbox(api, applicant.person.phone)).some((m) => m.includes(number) && m.includes('已立即整改')));
    const view = await api.call('POST', `/my/ratings/${rating!.id}/view`, { token: applicant.token, body: { satisfied: true } });
    t.is(view.status, 200, JSON.stringify(view.json));
    t.like(view.json, { status: 'settled', task: { state: 'closed', rater_view: 'satisfied' } });
    problem(
      t,
      await api.call('POST', `/my/ratings/${rating!.id}/view`, { token: applicant.token, body: { satisfied: false } }),
      409,
      'transition_not_allowed',
    );

    // The rater reads who looked at their rating, as the case's accesses.
    const accesses = (await api.call('GET', `/cases/${number}`, { token: applicant.token })).json.accesses as {
      event: string;
      role: string;
    }[];
    t.true(accesses.some((a) => a.event === 'rating.read' && a.role === 'rectifier'));
  },
);

test.serial('bad ratings are refused with specific errors and change nothing', async (t) => {
  const number = await closedCase(api, CITY, applicant, officer);
  const before = (await mine(applicant)).length;
  problem(t, await rate(stranger, { case_number: number, level: 5 }), 403, 'not_your_case');
  problem(t, await rate(applicant, { case_number: number, level: 0 }), 400, 'invalid_request', /^level: /);
  problem(t, await rate(applicant, { case_number: number, level: 6 }), 400, 'invalid_request', /^level: /);
  problem(t, await rate(applicant, { case_number: number, level: 3.5 }), 400, 'invalid_request', /^level: /);
  problem(
    t,
    await rate(applicant, { case_number: number, level: 4, comment: '很'.repeat(501) }),
    400,
    'text_too_long',
    /^comment: at most 500/,
  );
  problem(t, await rate(applicant, { case_number: number, level: 4, comment: '好<script>alert(1)</script>' }), 400, 'markup_not_allowed');
  problem(
    t,
    await rate(applicant, { case_number: number, level: 4, complaint: '<img src=x onerror=alert(1)>' }),
    400,
    'markup_not_allowed',
  );
  problem(t, await rate(applicant, { case_number: number, level: 4, criteria: { speed: 5 } }), 400, 'invalid_request', /criteria/);
  problem(t, await rate(applicant, { case_number: 'GZ-20260101-000001-0', level: 4 }), 400, 'invalid_case_number');
  t.is((await mine(applicant)).length, before, 'nothing was recorded');

  t.is((await rate(applicant, { case_number: number, level: 4 })).status, 201);
  problem(t, await rate(applicant, { case_number: number, level: 5 }), 409, 'already_rated');
  // Acceptance is its own stage: rated once too.
  t.is((await rate(applicant, { case_number: number, stage: 'acceptance', level: 5 })).status, 201);
  problem(t, await rate(applicant, { case_number: number, stage: 'acceptance', level: 5 }), 409, 'already_rated');
  t.is((await mine(applicant)).length, before + 2);
  // A good rating without a complaint is no task: there is no outcome to judge.
  const good = (await mine(applicant)).find((r) => r.case_number === number && r.stage === 'closure')!;
  t.like(good, { status: 'recorded', task: null });
  problem(
    t,
    await api.call('POST', `/my/ratings/${good.id}/view`, { token: applicant.token, body: { satisfied: true } }),
    409,
    'no_rectification',
  );
  problem(t, await api.call('GET', `/my/ratings/${good.id}`, { token: stranger.token }), 403, 'not_your_rating');
});

test.serial('an appeal against a mistaken rating: filed only by the handling authority, decided by its supervisor', async (t) => {
  const number = await closedCase(api, CITY, applicant, officer);
  const given = await rate(applicant, { case_number: number, level: 2, comment: '不满意' });
  t.is(given.status, 201, JSON.stringify(given.json));
  const ratingId = String(given.json.id);
  const taskId = (given.json.task as { id: string }).id;

  problem(
    t,
    await api.call('POST', `/staff/ratings/${ratingId}/appeal`, { token: healthRectifier.token, body: { reason: '误评' } }),
    403,
    'not_handling_authority',
  );
  problem(
    t,
    await api.call('POST', `/staff/ratings/${ratingId}/appeal`, { token: officer.token, body: { reason: '误评' } }),
    403,
    'role_required',
  );
  const filed = await api.call('POST', `/staff/ratings/${ratingId}/appeal`, {
    token: rectifier.token,
    body: { reason: '申请人评价的是另一事项的办理情况，与本办件无关。' },
  });
  t.is(filed.status, 201, JSON.stringify(filed.json));
  t.like(filed.json, { supervisor: MINISTRY_OF_PUBLIC_SECURITY, decision: null });
  problem(
    t,
    await api.call('POST', `/staff/ratings/${ratingId}/appeal`, { token: rectifier.token, body: { reason: '再次申诉' } }),
    409,
    'transition_not_allowed',
  );
  // While the appeal waits the task is held: no steps on it.
  problem(t, await step(rectifier, taskId, 'call_back', { reached: true, note: '已回访' }), 409, 'transition_not_allowed');

  const appeals = await api.call('GET', '/staff/appeals', { token: supervisor.token });
  const appeal = (appeals.json.appeals as { id: string; case_number: string; due_on: string }[]).find((a) => a.case_number === number)!;
  t.truthy(appeal.due_on);
  problem(
    t,
    await api.call('POST', `/staff/appeals/${appeal.id}/decide`, {
      token: otherSupervisor.token,
      body: { decision: 'upheld', reason: '同意' },
    }),
    403,
    'outside_authority',
  );
  const decided = await api.call('POST', `/staff/appeals/${appeal.id}/decide`, {
    token: supervisor.token,
    body: { decision: 'upheld', reason: '经核实，评价内容与本办件无关，属误评。' },
  });
  t.is(decided.status, 200, JSON.stringify(decided.json));
  t.is(decided.json.decision, 'upheld');
  problem(
    t,
    await api.call('POST', `/staff/appeals/${appeal.id}/decide`, {
      token: supervisor.token,
      body: { decision: 'rejected', reason: '改判' },
    }),
    409,
    'transition_not_allowed',
  );

  const rating = (await mine(applicant)).find((r) => r.id === ratingId)!;
  t.like(rating, {
    status: 'annulled',
    task: { state: 'withdrawn' },
    appeal: { decision: 'upheld', decision_reason: '经核实，评价内容与本办件无关，属误评。' },
  });
  const notices = (await api.call('GET', '/my/notices', { token: applicant.token })).json.notices as { text: string; reason: string }[];
  t.true(notices.some((n) => n.text.includes(number) && n.text.includes('误评') && n.reason.includes('申诉')));

  // A rejected appeal gives the task back to the authority.
  const second = await closedCase(api, CITY, applicant, officer);
  const bad = await rate(applicant, { case_number: second, level: 1 });
  const secondTask = (bad.json.task as { id: string; due_on: string }).id;
  await api.call('POST', `/staff/ratings/${String(bad.json.id)}/appeal`, { token: rectifier.token, body: { reason: '申请人情绪化评价' } });
  const pending = (await api.call('GET', '/staff/appeals', { token: supervisor.token })).json.appeals as {
    id: string;
    case_number: string;
  }[];
  const rejected = await api.call('POST', `/staff/appeals/${pending.find((a) => a.case_number === second)!.id}/decide`, {
    token: supervisor.token,
    body: { decision: 'rejected', reason: '未提供误评依据，应当回访整改。' },
  });
  t.is(rejected.json.decision, 'rejected', JSON.stringify(rejected.json));
  const back = await api.call('GET', `/staff/rectifications/${secondTask}`, { token: rectifier.token });
  t.like(back.json, { state: 'open', rating: { status: 'rectifying' } });
  t.true((back.json.steps as { event: string }[]).some((s) => s.event === 'release'));
  // The ledger: a fix by a date, then done.
  t.is((await step(rectifier, secondTask, 'call_back', { reached: false, note: '两次致电未接通。' })).status, 200);
  problem(
    t,
    await step(rectifier, secondTask, 'schedule_fix', { fix_by: '2020-01-02', ledger: '更新窗口指引' }),
    400,
    'invalid_request',
    /fix_by/,
  );
  problem(
    t,
    await step(rectifier, secondTask, 'schedule_fix', { fix_by: '2099-02-30', ledger: '更新窗口指引' }),
    400,
    'invalid_request',
    /fix_by: is not a calendar date/,
  );
  const scheduled = await step(rectifier, secondTask, 'schedule_fix', { fix_by: '2099-12-31', ledger: '更新窗口材料清单并培训窗口人员。' });
  t.like(scheduled.json, { state: 'rectifying', resolution: 'fixed_by_date', fix_by: '2099-12-31' });
  const done = await step(rectifier, secondTask, 'complete_fix', { note: '材料清单已更新，培训已完成。' });
  t.like(done.json, { state: 'resolved' });
});

test('the supervising authority is the same department one tier up, known here though another platform keeps it', async (t) => {
  const db = fed.host.entities.find((e) => e.entity.id === SERVICES)!.runtime.db;
  t.is(await supervisingAuthority(db, HEALTH), GUANGDONG_HEALTH, "Guangdong's health commission, not the national one");
  t.is(await supervisingAuthority(db, POLICE), MINISTRY_OF_PUBLIC_SECURITY, 'no provincial police: the ministry');
  t.is(await supervisingAuthority(db, MINISTRY_OF_PUBLIC_SECURITY), MINISTRY_OF_PUBLIC_SECURITY, 'national: its own supervisors');
});

test.serial('the public figures per authority and item match the ratings given, also from gov-id ratings stats', async (t) => {
  const before = await policeFigures();
  const levels = [5, 4, 3, 2, 1];
  for (const level of levels) {
    const number = await closedCase(api, CITY, applicant, officer);
    t.is((await rate(applicant, { case_number: number, level })).status, 201);
  }
  const after = await policeFigures();
  t.is(after.ratings - before.ratings, 5);
  for (const level of levels) t.is(after.by_level[String(level)]! - before.by_level[String(level)]!, 1, `level ${level}`);
  t.is(after.bad - before.bad, 2);
  t.is(after.rectification.tasks - before.rectification.tasks, 2);
  t.is(after.bad_rate, Math.round((after.bad / (after.ratings - after.annulled)) * 10000) / 10000);
  t.true(after.annulled >= 1, 'the upheld appeal');
  t.true(after.rectification.on_time >= 2 && after.rectification.rater_satisfied >= 1);

  const stats = await api.call('GET', `/ratings/stats?item=${BIRTH_REGISTRATION}`);
  const item = (stats.json.authorities as { items: { code: string; figures: Figures }[] }[])[0]!.items[0]!;
  t.is(item.code, BIRTH_REGISTRATION);
  t.deepEqual(item.figures.by_level, after.by_level);
  t.false(JSON.stringify(stats.json).includes('不满意') && JSON.stringify(stats.json).includes('comment'), 'no comments in figures');

  const cli = await runCli([
    'ratings',
    'stats',
    '--entity',
    SERVICES,
    '--authority',
    POLICE,
    '--topology',
    fed.topologyFile,
    '--data',
    fed.config.dataDir,
  ]);
  t.is(cli.code, 0, cli.stderr);
  const printed = JSON.parse(cli.stdout) as { authorities: { code: string; figures: Figures }[] };
  t.deepEqual(printed.authorities.find((a) => a.code === POLICE)!.figures.by_level, after.by_level);
});

test.serial('ratings, tasks, their events and appeals are records: the database refuses edits and deletions', async (t) => {
  const services = fed.host.entities.find((e) => e.entity.id === SERVICES)!;
  const db = services.runtime.db;
  const refused = async (sql: string) => {
    const err = await t.throwsAsync(db.query(sql));
    t.regex(err!.message, /record|set once|never removed/);
  };
  await refused('UPDATE ratings SET level = 5 WHERE level = 1');
  await refused('DELETE FROM ratings');
  await refused("UPDATE rectification_tasks SET resolution = 'without_basis' WHERE resolution = 'fixed_now'");
  await refused("UPDATE rectification_events SET facts = '{}'");
  await refused("UPDATE rating_appeals SET decision = 'rejected' WHERE decision = 'upheld'");
  await refused('DELETE FROM rating_appeals');
});
