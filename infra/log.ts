/**
 * Structured JSON logging; a line written while a request is handled carries its `request_id`
 * (infra/request-id.ts). Values under keys that may hold personal data or secrets are
 * replaced before anything is written, so a careless call cannot leak an ID number. Stack frames
 * name source files relative to the project (dependencies from `node_modules/`), never where the
 * code is installed.
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentRequestId } from './request-id.ts';

const REDACTED_KEYS =
  /^(password|otp|code|id_?number|phone|client_?secret|secret|token|access_token|refresh_token|id_token|authorization|cookie|code_verifier|uscc)$/i;
// Not preceded or followed by a letter or digit (an underscore or a word around them still counts as a boundary).
const ID_NUMBER = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g;
const PHONE = /(?<![0-9A-Za-z])(?:(?:\+|00)?86)?1[3-9]\d{9}(?![0-9A-Za-z])/g;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const FRAME = /^\s+at /;
/** A path where a frame names its file: after "at " or "(", possibly as a file: URL. */
const ABSOLUTE_PATH = /(?<=[\s(])(?:file:\/\/)?\/[^\s():'"]+/g;

function relativePath(path: string): string {
  const file = path.replace(/^file:\/\//, '');
  const dependency = file.lastIndexOf('/node_modules/');
  if (dependency >= 0) return file.slice(dependency + 1);
  return file.startsWith(PROJECT_ROOT) ? file.slice(PROJECT_ROOT.length) : basename(file);
}

/** The stack with every absolute path in its frames made relative (the message lines are left alone). */
export function relativeStack(stack: string): string {
  return stack
    .split('\n')
    .map((line) => (FRAME.test(line) ? line.replace(ABSOLUTE_PATH, relativePath) : line))
    .join('\n');
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(ID_NUMBER, '[id]').replace(PHONE, '[phone]');
  if (value instanceof Error)
    return {
      name: value.name,
      message: scrub(value.message),
      stack: value.stack === undefined ? undefined : scrub(relativeStack(value.stack)),
      ...(value.cause ? { cause: scrub(value.cause, depth + 1) } : {}),
    };
  if (value === null || typeof value !== 'object') return value;
  if (depth > 4) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = REDACTED_KEYS.test(k) ? '[redacted]' : scrub(v, depth + 1);
  return out;
}

export function createLogger(base: Record<string, unknown> = {}, level: LogLevel = (process.env.LOG_LEVEL as LogLevel) || 'info'): Logger {
  const min = ORDER[level] ?? ORDER.info;
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const requestId = currentRequestId();
    const line = JSON.stringify({
      t: new Date().toISOString(),
      level: lvl,
      msg: scrub(msg),
      ...(requestId ? { request_id: requestId } : {}),
      ...(scrub({ ...base, ...fields }) as object),
    });
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, level),
  };
}
