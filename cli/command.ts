/**
 * What every `gov-id` command receives and how it reports. Kept free of imports that cost time:
 * the command line loads this before it knows which command runs.
 */
import { readFileSync } from 'node:fs';
import type { DeploymentConfig } from '../infra/config.ts';
import { ConfigurationError } from '../infra/errors.ts';
import type { CommandValues } from './commands.ts';

export interface CommandContext {
  /** Every option of the command line (each command reads its own). */
  values: CommandValues;
  /** The words after the command's own (`gov-id federation list extra` → ['extra']). */
  args: string[];
  /** The environment's deployment configuration, with --data applied. */
  config: DeploymentConfig;
  /** --topology, else GOV_ID_TOPOLOGY; undefined means the demo topology. */
  topologyPath: string | undefined;
}

/** A command: runs, prints, and returns the exit status. */
export type Command = (ctx: CommandContext) => Promise<number>;

/**
 * A failure the person at the command line can act on (a missing option, an entity that is not
 * running): printed as `gov-id: MESSAGE` without a stack, exit status 2.
 */
export class CommandLineError extends Error {}

/** A command line that names no command or lacks an option; the message adds how to get help. */
export class UsageError extends CommandLineError {}

/** Prints a command's result as JSON. */
export function print(value: unknown) {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A JSON file given as `--option FILE`; a file that cannot be read or parsed is a usage error naming both. */
export function readJson(option: string, file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigurationError('', `--${option} ${file}: ${(err as Error).message}`);
  }
}
