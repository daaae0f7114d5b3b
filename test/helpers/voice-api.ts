/**
 * What the tests of asking and rating need besides the cases' API helper (cases-api.ts): a case
 * run to its end over HTTP by staff of the police, for a person to rate. Free of the test runner.
 */
import type { CasesApi, Reply } from './cases-api.ts';

/** A city's services entity, where its authorities handle the cases of their items. */
export interface CityPlatform {
  services: string;
  /** 出生登记 at the city's police: decided on the spot, every material an e-licence, not published. */
  birthRegistration: string;
  police: string;
  health: string;
}

export const GUANGZHOU: CityPlatform = {
  services: 'gz-services',
  birthRegistration: '11440100000101002C3070101005000',
  police: '11440100000101002C',
  health: '11440100000106040E',
};
export const NANJING: CityPlatform = {
  services: 'nj-services',
  birthRegistration: '11320100000101004K3070101005000',
  police: '11320100000101004K',
  health: '11320100000106042M',
};
/** 公安部: a city police's superior in its line (no provincial police in the demo catalog). */
export const MINISTRY_OF_PUBLIC_SECURITY = '11100000000101001F';
/** 广东省卫生健康委员会: the Guangzhou health commission's superior in its line. */
export const GUANGDONG_HEALTH = '11440000000106044M';

let keys = 0;

function expect(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply;
}

/**
 * Applies for the city's 出生登记 as `applicant`; staff (decider and sender at its police) decide
 * it on the spot and close it.
 */
export async function closedCase(
  api: CasesApi,
  city: CityPlatform,
  applicant: { token: string },
  staff: { token: string },
): Promise<string> {
  const receipt = expect(
    await api.call('POST', '/cases', {
      token: applicant.token,
      headers: { 'idempotency-key': `voice-${Date.now()}-${++keys}` },
      body: {
        item_code: city.birthRegistration,
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
