/**
 * A configuration file a running entity follows without a restart. On access, at most once per
 * interval, the file's inode, size and times are compared with those of the configuration in
 * force; a changed file is read and validated and, if valid, taken into force. An invalid or
 * missing file is refused with one logged error (per version of the file) and the last good
 * configuration stays in force. No timers or file watchers are held, so there is nothing to close.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ConfigurationError } from '../infra/errors.ts';
import type { Logger } from '../infra/log.ts';

export interface LiveConfigSource<T> {
  /** The configuration in force, reloaded first if the file changed. */
  current(): T;
  /** Increases by one every time a changed file is taken into force. */
  readonly version: number;
  readonly file: string;
}

export interface LiveConfigFileOptions<T> {
  file: string;
  /** Reads and validates the file; throws ConfigurationError naming the field. */
  read: (file: string) => T;
  /** Writes the defaults when the file is absent at start. */
  createDefault?: (file: string) => void;
  /** What the log lines call it, e.g. "authority configuration". */
  label: string;
  /** A few words about a configuration for the reload log line. */
  summary?: (config: T) => Record<string, unknown>;
  log?: Logger;
  /** Smallest time between two looks at the file, in milliseconds (default 1000). */
  checkIntervalMs?: number;
  /** Milliseconds since the epoch (tests). */
  now?: () => number;
}

function fingerprint(stats: BigIntStats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

export class LiveConfigFile<T> implements LiveConfigSource<T> {
  readonly file: string;
  readonly #opts: LiveConfigFileOptions<T>;
  readonly #interval: number;
  readonly #now: () => number;
  #config: T;
  #version = 0;
  #seen: string | null;
  #checkedAt: number;

  /** Throws when the file is invalid at start: there is no last good configuration yet. */
  constructor(opts: LiveConfigFileOptions<T>) {
    this.file = opts.file;
    this.#opts = opts;
    this.#interval = opts.checkIntervalMs ?? 1000;
    this.#now = opts.now ?? Date.now;
    if (!existsSync(this.file)) opts.createDefault?.(this.file);
    this.#seen = this.#stat();
    this.#config = opts.read(this.file);
    this.#checkedAt = this.#now();
  }

  get version(): number {
    return this.#version;
  }

  current(): T {
    const now = this.#now();
    if (now - this.#checkedAt >= this.#interval) {
      this.#checkedAt = now;
      this.#reloadIfChanged();
    }
    return this.#config;
  }

  #stat(): string | null {
    try {
      return fingerprint(statSync(this.file, { bigint: true }));
    } catch {
      return null;
    }
  }

  #reloadIfChanged(): void {
    const seen = this.#stat();
    if (seen === this.#seen) return;
    this.#seen = seen;
    const { label, log } = this.#opts;
    if (seen === null) {
      log?.error(`${label} file is missing; the last good configuration stays in force`, { file: this.file });
      return;
    }
    try {
      this.#config = this.#opts.read(this.file);
      this.#version++;
      log?.info(`${label} reloaded`, { file: this.file, version: this.#version, ...this.#opts.summary?.(this.#config) });
    } catch (err) {
      log?.error(`${label} refused; the last good configuration stays in force`, { file: this.file, reason: (err as Error).message });
    }
  }
}

/** Reads a JSON configuration file; errors name the file and the reason. */
export function readJsonFile(file: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigurationError(file, `cannot read the ${label} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(file, `not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Writes atomically: the text goes to a temporary file in the same folder, is flushed to disk,
 * and replaces the file by rename, so a reader sees the old file or the new one, never half.
 */
export function writeJsonFileAtomically(file: string, value: unknown, label: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, 'wx', 0o640);
    try {
      writeSync(fd, JSON.stringify(value, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new ConfigurationError(file, `cannot write the ${label} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** False only when the file does not exist; any other problem is an error naming the file. */
export function fileExists(file: string, label: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ConfigurationError(file, `cannot read the ${label} (${(err as NodeJS.ErrnoException).code})`);
  }
}
