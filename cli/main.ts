/**
 * The `gov-id` command line. Run `gov-id help` for the list of commands (cli/commands.ts); only
 * the module of the command that runs is loaded.
 */
import { configFromEnv } from '../infra/config.ts';
import { ConfigurationError } from '../infra/errors.ts';
import { CommandLineError, UsageError } from './command.ts';
import { findCommand, HELP, parseCommandLine } from './commands.ts';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help || positionals.length === 0 || positionals[0] === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const { command, args } = findCommand(positionals);
  const config = configFromEnv();
  if (values.data) config.dataDir = values.data;
  return command.run({ values, args, config, topologyPath: values.topology ?? config.topologyPath });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (
    err instanceof CommandLineError ||
    err instanceof ConfigurationError ||
    (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    process.stderr.write(`gov-id: ${(err as Error).message}\n${err instanceof UsageError ? 'Run "gov-id help" for usage.\n' : ''}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`gov-id: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
