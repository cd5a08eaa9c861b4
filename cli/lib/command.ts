import { parseArgs } from 'node:util';

/** What every cli/commands/<name>.ts module exports; its one-line summary lives in cli/main.ts. */
export interface Command {
  run(argv: string[]): Promise<number>;
}

type ParseOptions = NonNullable<Parameters<typeof parseArgs>[0]>;
type Options = NonNullable<ParseOptions['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: O & { help: { type: 'boolean'; short: 'h' } };
    allowPositionals: true;
    strict: true;
  }>
>;

/**
 * node:util parseArgs (strict, positionals allowed, `-h/--help` added). Returns the parsed values, or the
 * exit code when the command should stop: 0 after printing help, 2 after a usage error.
 */
export function parseCommandLine<const O extends Options>(
  argv: string[],
  options: O,
  help: string,
): Parsed<O> | number {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    return parsed;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${help}\n`);
    return 2;
  }
}
