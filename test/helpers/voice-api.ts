/**
 * What the tests of asking and rating need besides the cases' API helper (cases-api.ts): a case
 * run to its end over HTTP by staff of the police, for a person to rate. Free of the test runner.
 */
import type { CasesApi, Reply } from './cases-api.ts';

/** 出生登记 at 广州市公安局: decided on the spot, every material an e-licence, not published. */
export const BIRTH_REGISTRATION = '11440100000101002C3070101005000';
export const POLICE = '11440100000101002C';
/** 公安部: the police's superior in its line (no provincial police in the demo catalog). */
export const MINISTRY_OF_PUBLIC_SECURITY = '11100000000101001F';
export const HEALTH = '11440100000106040E';

let keys = 0;

function expect(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply;
}

/** Applies for 出生登记 as `applicant`; staff (decider and sender at the police) decide it on the spot and close it. */
export async function closedCase(api: CasesApi, applicant: { token: string }, staff: { token: string }): Promise<string> {
  const receipt = expect(
    await api.call('POST', '/cases', {
      token: applicant.token,
      headers: { 'idempotency-key': `voice-${Date.now()}-${++keys}` },
      body: {
        item_code: BIRTH_REGISTRATION,
        delivery: 'electronic',
        materials: [
          { slot: 0, reference: 'e-license:出生医学证明' },
          { slot: 1, reference: 'e-license:居民户口簿' },
          { slot: 2, reference: 'e-license:居民身份证' },
          { slot: 3, reference: 'e-license:结婚证' },
        ],
      },
    }),
    201,
    'apply',
  );
  const number = String(receipt.json.number);
  const act = async (action: string, body: unknown = {}) =>
    expect(await api.call('POST', `/staff/cases/${number}/${action}`, { token: staff.token, body }), 200, action);
  await act('decide_on_the_spot', { outcome: 'approved' });
  await act('make_result');
  await act('deliver');
  await act('close');
  return number;
}

export async function outbox(api: CasesApi, phone: string): Promise<string[]> {
  const res = await fetch(`${api.base}/demo/outbox?to=${phone}`);
  return ((await res.json()) as { body: string }[]).map((m) => m.body);
}
