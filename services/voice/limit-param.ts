import { BadRequest } from '../../infra/errors.ts';

/** A list's `limit` query parameter: 50 when absent, else a number from 1 to `max`. */
export function limitParam(raw: unknown, max = 200): number {
  if (raw === undefined) return 50;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    throw new BadRequest('invalid_request', `limit: a number from 1 to ${max}`);
  return Number(raw);
}
