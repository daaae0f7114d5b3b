/** A logger that writes as the tests' logger does and also keeps every entry, as JSON, in `lines`. */
import { createLogger, type Logger, type LogLevel } from '../../infra/log.ts';

export function capturingLogger(lines: string[], base: Record<string, unknown> = {}): Logger {
  const real = createLogger(base, (process.env.TEST_LOG_LEVEL as LogLevel) ?? 'error');
  const record = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(
      JSON.stringify({ level, msg, ...fields }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)),
    );
    real[level](msg, fields);
  };
  return {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: (fields) => capturingLogger(lines, { ...base, ...fields }),
  };
}
