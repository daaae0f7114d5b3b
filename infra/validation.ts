/** Request validation with zod: the first problem becomes a 400 that names the field. */
import type { z } from 'zod';
import { BadRequest } from './errors.ts';

export function validate<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new BadRequest('invalid_request', `${field}: ${issue.message}`);
}
