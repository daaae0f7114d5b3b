/** A Logger that keeps its lines in memory, for tests that assert what was (not) logged. */
import type { Logger } from '../../infra/log.ts';
import { currentRequestId } from '../../infra/request-id.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  /** With `request_id` when written while a request was handled, as infra/log.ts writes it. */
  fields: Record<string, unknown>;
}

export function recordingLogger(lines: LogLine[], base: Record<string, unknown> = {}): Logger {
  const at =
    (level: LogLine['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      const requestId = currentRequestId();
      lines.push({ level, msg, fields: { ...(requestId ? { request_id: requestId } : {}), ...base, ...fields } });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => recordingLogger(lines, { ...base, ...fields }),
  };
}
