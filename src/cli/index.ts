#!/usr/bin/env node
/**
 * The `livepatch` command. This file parses the command line and owns the
 * exit policy: a `LivepatchError` prints its message and hint and exits with
 * its documented code (`exit.ts`); anything else is a bug and says so.
 * Commands live in `commands/`, take a `CommandContext`, and never exit.
 */
import { parseArgs } from 'node:util';
import { LivepatchError, lpError } from '../errors.js';
import { EXIT, exitCodeOf } from './exit.js';
import { run } from './commands/run.js';
import { symbols } from './commands/symbols.js';

export interface CommandContext {
  /** Positional arguments after the command name. */
  rest: string[];
  options: Record<string, string | boolean | undefined>;
  json: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

type Command = (ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  run: { run, usage: 'run <script> [args…]          run a program under livepatch' },
  symbols: { run: symbols, usage: 'symbols <file> [--root DIR]   list a file\'s symbols (or <module-id> -p PID, live)' },
};

const OPTIONS = {
  pid: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(): string {
  return ['usage: livepatch <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`),
    '', 'Every command takes --json. See docs/cli.md.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const ctx: CommandContext = {
    rest: [], options: {}, json: false,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  try {
    const [name, ...args] = argv;
    if (!name || name === 'help' || name === '--help' || name === '-h') {
      ctx.out(usage());
      return name ? EXIT.OK : EXIT.USAGE;
    }
    const command = COMMANDS[name];
    if (!command) throw lpError('ERR_LP_USAGE', { detail: `unknown command '${name}'` });
    if (name === 'run') {
      // Everything after the script belongs to the program.
      ctx.rest = args;
      return await command.run(ctx);
    }
    const parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    ctx.rest = parsed.positionals;
    ctx.options = parsed.values as CommandContext['options'];
    ctx.json = parsed.values.json === true;
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof LivepatchError) {
      if (ctx.json) ctx.out(JSON.stringify({ error: err.toJSON() }));
      else ctx.err(`livepatch: ${err.describe()}`);
      return exitCodeOf(err);
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      ctx.err(`livepatch: ${(err as Error).message}\n\n${usage()}`);
      return EXIT.USAGE;
    }
    ctx.err(`livepatch: internal error, this is a bug: ${(err as Error)?.stack ?? err}`);
    return EXIT.FAILED;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
