#!/usr/bin/env node
/**
 * The `livepatch` command. This file parses the command line and owns the
 * exit policy: a `LivepatchError` prints its message and hint and exits with
 * its documented code (`exit.ts`); anything else is a bug and says so.
 * Commands live in `commands/`, take a `CommandContext`, and never exit.
 */
import fs from 'node:fs';
import { isatty } from 'node:tty';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { chooseRuntimeDir } from '../control/runtime-dir.js';
import { LivepatchError, lpError } from '../errors.js';
import type { CommandContext } from './context.js';
import { EXIT, exitCodeOf } from './exit.js';

type Command = (ctx: CommandContext) => Promise<number>;
type Options = NonNullable<ParseArgsConfig['options']>;

const PID: Options = { pid: { type: 'string', short: 'p' } };
/** `-t TID`: one thread of the process (0 is the main thread); without it a command addresses the process as a whole. */
const THREAD: Options = { thread: { type: 'string', short: 't' } };
const ROOT: Options = { root: { type: 'string' } };
const WAIT: Options = { wait: { type: 'string' }, keep: { type: 'boolean' } };
/** `--all [--app NAME]`: every process of an application's group instead of one (docs/fleet.md). */
const GROUP: Options = { all: { type: 'boolean' }, app: { type: 'string' } };

interface CommandSpec {
  run: Command;
  /** The synopsis after `livepatch`, and a one-line summary; `[-p PID]` is added for commands that take it. */
  usage: [synopsis: string, summary: string];
  options?: Options;
  /** How many positional arguments the command takes: at least, at most. */
  positionals: [min: number, max: number];
}

// Each command's module is imported when it runs: `symbols` brings in the
// parser and `install` the engine, which the other commands do without.
const COMMANDS: Record<string, CommandSpec> = {
  ps: {
    run: async (ctx) => (await import('./commands/ps.js')).ps(ctx),
    usage: ['ps [--all]', 'list the processes running under livepatch; --all: each patch, its state, stalled transitions'],
    positionals: [0, 0],
    options: { all: { type: 'boolean' } },
  },
  load: {
    run: async (ctx) => (await import('./commands/load.js')).load(ctx),
    usage: [
      'load <patch-file> [--wait S] [--keep] [--no-wait] [--allow-unloaded] [--all [--app NAME] [--atomic | --rolling N]]',
      'load and enable a patch, wait for its transition; --all: into every process of a group',
    ],
    positionals: [1, 1],
    options: {
      ...PID, ...THREAD, ...WAIT, ...GROUP,
      'no-wait': { type: 'boolean' }, 'allow-unloaded': { type: 'boolean' }, atomic: { type: 'boolean' }, rolling: { type: 'string' },
    },
  },
  check: {
    run: async (ctx) => (await import('./commands/check.js')).check(ctx),
    usage: ['check <patch-file>', 'resolve a patch in the process without enabling it: what a load would refuse'],
    positionals: [1, 1],
    options: { ...PID, ...THREAD },
  },
  unload: {
    run: async (ctx) => (await import('./commands/load.js')).unload(ctx),
    usage: ['unload <name> [--wait S] [--keep] [--all [--app NAME]]', 'disable a patch, wait until it is removed; --all: in every process of a group'],
    positionals: [1, 1],
    options: { ...PID, ...THREAD, ...WAIT, ...GROUP },
  },
  list: {
    run: async (ctx) => (await import('./commands/list.js')).list(ctx),
    usage: ['list', 'loaded patches, patched functions, installed patches'],
    positionals: [0, 0],
    options: { ...PID, ...THREAD },
  },
  info: {
    run: async (ctx) => (await import('./commands/info.js')).info(ctx),
    usage: ['info <name>', "a patch's objects, functions, states and hashes"],
    positionals: [1, 1],
    options: { ...PID, ...THREAD },
  },
  tasks: {
    run: async (ctx) => (await import('./commands/tasks.js')).tasks(ctx),
    usage: ['tasks', 'tasks and their patch state, blocking ones first'],
    positionals: [0, 0],
    options: { ...PID, ...THREAD },
  },
  log: {
    run: async (ctx) => (await import('./commands/log.js')).log(ctx),
    usage: ['log [-f]', "the process's livepatch log; -f follows it"],
    positionals: [0, 0],
    options: { ...PID, ...THREAD, follow: { type: 'boolean', short: 'f' } },
  },
  sys: {
    run: async (ctx) => (await import('./commands/sys.js')).sys(ctx),
    usage: ['sys [<path> [value]]', 'read or write the state tree; no path lists it'],
    positionals: [0, 2],
    options: { ...PID, ...THREAD },
  },
  symbols: {
    run: async (ctx) => (await import('./commands/symbols.js')).symbols(ctx),
    usage: ['symbols <file> [--root DIR] | <module-id> -p PID | -p PID', "a file's symbols, or a loaded module's; -p PID alone lists the modules"],
    positionals: [0, 1],
    options: { ...PID, ...THREAD, ...ROOT },
  },
  install: {
    run: async (ctx) => (await import('./commands/install.js')).install(ctx),
    usage: ['install <patch-file> [--root DIR]', 'install a patch, loaded at every start'],
    positionals: [1, 1],
    options: ROOT,
  },
  uninstall: {
    run: async (ctx) => (await import('./commands/install.js')).uninstall(ctx),
    usage: ['uninstall <name> [--root DIR]', 'remove an installed patch'],
    positionals: [1, 1],
    options: ROOT,
  },
  installed: {
    run: async (ctx) => (await import('./commands/install.js')).installed(ctx),
    usage: ['installed [--root DIR]', 'list the installed patches'],
    positionals: [0, 0],
    options: ROOT,
  },
  build: {
    run: async (ctx) => (await import('./commands/build.js')).build(ctx),
    usage: [
      'build (--old DIR --new DIR | --diff FILE | --git RANGE | --package NAME --to DIR|TARBALL|VERSION) -o FILE [--root DIR] [--name NAME] [--no-replace] [--base PATCH] [--entry FILE]... [--show-first-changed] [--verify [-p PID]]',
      'build a patch module from two versions of the program, as kpatch-build does',
    ],
    positionals: [0, 0],
    options: {
      ...PID, ...ROOT,
      old: { type: 'string' }, new: { type: 'string' }, diff: { type: 'string' }, git: { type: 'string' },
      package: { type: 'string' }, to: { type: 'string' }, output: { type: 'string', short: 'o' }, name: { type: 'string' },
      'no-replace': { type: 'boolean' }, base: { type: 'string' }, entry: { type: 'string', multiple: true },
      'show-first-changed': { type: 'boolean' }, verify: { type: 'boolean' },
    },
  },
  sign: {
    run: async (ctx) => (await import('./commands/sign.js')).sign(ctx),
    usage: ['sign <patch-file> --key <private.pem>', 'sign a patch module: writes <patch-file>.sig'],
    positionals: [1, 1],
    options: { key: { type: 'string' } },
  },
  run: {
    run: async (ctx) => (await import('./commands/run.js')).run(ctx),
    usage: ['run <script> [args…]', 'run a program under livepatch'],
    positionals: [1, Infinity],
  },
  demo: {
    run: async (ctx) => (await import('./commands/demo.js')).demo(ctx),
    usage: ['demo [--quick]', 'fix a shop service live under load, and compare with a restart'],
    positionals: [0, 0],
    options: { quick: { type: 'boolean' } },
  },
};

const COMMON: Options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** A command's synopsis: as written in the table, with `[-p PID]` when it takes -p and does not say so. */
function synopsisOf(spec: CommandSpec): string {
  const [synopsis] = spec.usage;
  const withPid = spec.options?.pid && !synopsis.includes('-p PID') ? `${synopsis} [-p PID]` : synopsis;
  return spec.options?.thread ? `${withPid} [-t TID]` : withPid;
}

/** Synopses longer than this put their summary on the next line, so that one long synopsis does not push every summary aside. */
const SYNOPSIS_WIDTH = 48;

/** A long synopsis folded before its options, at most 78 columns a line. */
function fold(synopsis: string): string {
  const lines = [''];
  for (const word of synopsis.split(/ (?=[[(-])/)) {
    const line = lines[lines.length - 1];
    if (line !== '' && line.length + 1 + word.length > 76) lines.push(`  ${word}`);
    else lines[lines.length - 1] = line === '' ? word : `${line} ${word}`;
  }
  return lines.join('\n  ');
}

function usage(): string {
  const lines = Object.values(COMMANDS).map((spec) => {
    const synopsis = synopsisOf(spec);
    return synopsis.length <= SYNOPSIS_WIDTH
      ? `  ${synopsis.padEnd(SYNOPSIS_WIDTH)}  ${spec.usage[1]}`
      : `  ${fold(synopsis)}\n  ${' '.repeat(SYNOPSIS_WIDTH)}  ${spec.usage[1]}`;
  });
  return ['usage: livepatch <command> [options]', '',
    ...lines, '',
    '-p PID chooses the process; it may be left out when exactly one runs under livepatch.',
    '-t TID chooses one thread of it (0 is the main thread); without it, the process as a whole.',
    'Every command takes --json. See docs/cli.md.'].join('\n');
}

/**
 * Writes to a file descriptor synchronously. A command prints a few lines,
 * and setting up process.stdout as a stream costs a command more than its
 * work; a reader that went away (`livepatch list | head`) ends the output
 * quietly, and a full non-blocking pipe is waited for.
 */
function writer(fd: number): (text: string) => void {
  let open = true;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return (text) => {
    let rest = Buffer.from(text, 'utf8');
    while (open && rest.length > 0) {
      try {
        rest = rest.subarray(fs.writeSync(fd, rest));
      } catch (err) {
        const { code } = err as NodeJS.ErrnoException;
        if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
        else if (code === 'EPIPE') open = false;
        // Output the command cannot write is the caller's failure, reported by main's catch.
        else throw err;
      }
    }
  };
}

export async function main(argv: string[]): Promise<number> {
  const stdout = writer(1);
  const stderr = writer(2);
  const ctx: CommandContext = {
    rest: [], options: {}, json: false, usage: '',
    out: (line) => stdout(`${line}\n`),
    err: (line) => stderr(`${line}\n`),
    write: stdout,
    tty: isatty(1),
    env: process.env,
    runtimeDir: chooseRuntimeDir(process.env).dir,
  };
  try {
    const [name, ...args] = argv;
    if (!name || name === 'help' || name === '--help' || name === '-h') {
      ctx.out(usage());
      return name ? EXIT.OK : EXIT.USAGE;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw lpError('ERR_LP_USAGE', { detail: `unknown command '${name}'` });
    ctx.usage = `usage: livepatch ${synopsisOf(command)}`;
    if (name === 'run') {
      // Everything after the script belongs to the program.
      ctx.rest = args;
    } else {
      const parsed = parseArgs({ args, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true });
      if (parsed.values.help) {
        ctx.out(`${ctx.usage}\n\n${command.usage[1]}`);
        return EXIT.OK;
      }
      ctx.rest = parsed.positionals;
      ctx.options = parsed.values as CommandContext['options'];
      ctx.json = parsed.values.json === true;
    }
    const [min, max] = command.positionals;
    if (ctx.rest.length < min || ctx.rest.length > max) throw lpError('ERR_LP_USAGE', { detail: ctx.usage });
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
