import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The command line of one of rxgate's commands: `--help` (or `-h`) prints `usage` and exits 0; an
 * unknown option or a missing value prints one line naming it, then `usage`, and exits 2. No stack.
 */
export function parseCommandLine<T extends Options>(command: string, usage: string, options: T, args: string[] = process.argv.slice(2)) {
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } } as const;
  let parsed;
  try {
    parsed = parseArgs({ options: withHelp, args, strict: true, allowPositionals: false });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`${command}: ${message}\n\n${usage.trimEnd()}\n`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  return parsed.values as ReturnType<typeof parseArgs<{ options: T; strict: true }>>['values'];
}
