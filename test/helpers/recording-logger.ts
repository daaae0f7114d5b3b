/**
 * A Logger that keeps its lines in memory, for tests that assert what was (not) logged. With
 * `echo`, each line also goes to the tests' own logger (TEST_LOG_LEVEL), as a federation's log does.
 */
import { createLogger, type Logger, type LogLevel } from '../../infra/log.ts';
import { currentRequestId } from '../../infra/request-id.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  /** With `request_id` when written while a request was handled, as infra/log.ts writes it. */
  fields: Record<string, unknown>;
}

export function recordingLogger(lines: LogLine[], base: Record<string, unknown> = {}, opts: { echo?: boolean } = {}): Logger {
  const echo = opts.echo ? createLogger(base, (process.env.TEST_LOG_LEVEL as LogLevel) ?? 'error') : null;
  const at =
    (level: LogLine['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      const requestId = currentRequestId();
      lines.push({ level, msg, fields: { ...(requestId ? { request_id: requestId } : {}), ...base, ...fields } });
      echo?.[level](msg, fields);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => recordingLogger(lines, { ...base, ...fields }, opts),
  };
}

/** A line as one text (message and fields), for "was this ever written" checks. */
export const lineText = (l: LogLine) => JSON.stringify({ msg: l.msg, ...l.fields });
