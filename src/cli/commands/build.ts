/**
 * `livepatch build`: the analog of kpatch-build and klp-build. Reads two
 * versions of the program (two directories, the tree and a diff, two git
 * revisions, or a dependency and its fixed version), writes the patch
 * module, and with `--verify` checks it against a running process. It
 * prints what kpatch-build prints: each changed function, what it carries,
 * and the warnings; a refusal lists every unsupported change.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readBase } from '../../build/base.js';
import { buildPatch } from '../../build/build.js';
import { fixedPackage, fromDiff, fromGit, installedPackage, type Versions } from '../../build/versions.js';
import { lpError } from '../../errors.js';
import { findRoot } from '../../source/format.js';
import type { CommandContext } from '../context.js';
import { check } from './check.js';

const INPUTS = ['old', 'diff', 'git', 'package'] as const;
type Input = (typeof INPUTS)[number];

/** Which of the ways to give the two versions the command line uses; exactly one. */
function inputOf(ctx: CommandContext): Input {
  const given = INPUTS.filter((name) => ctx.options[name] !== undefined);
  if (given.length !== 1) throw lpError('ERR_LP_USAGE', { detail: `give one of --old/--new, --diff, --git or --package\n${ctx.usage}` });
  const [input] = given;
  if (input === 'old' && typeof ctx.options.new !== 'string') throw lpError('ERR_LP_USAGE', { detail: '--old takes --new with it' });
  if (input === 'package' && typeof ctx.options.to !== 'string') throw lpError('ERR_LP_USAGE', { detail: '--package takes --to <dir | tarball | version> with it' });
  return input;
}

function versionsOf(ctx: CommandContext, input: Input, scratch: string): Versions & { label: string } {
  const option = (name: string) => ctx.options[name] as string;
  const root = path.resolve(typeof ctx.options.root === 'string' ? ctx.options.root : findRoot(undefined));
  switch (input) {
    case 'old':
      return { old: path.resolve(option('old')), new: path.resolve(option('new')), label: `${option('old')} to ${option('new')}` };
    case 'diff':
      return { ...fromDiff(root, path.resolve(option('diff')), scratch), label: `${root} with ${option('diff')}` };
    case 'git':
      return { ...fromGit(root, option('git'), scratch), label: `${option('git')} of ${root}` };
    case 'package': {
      const name = option('package');
      const installed = installedPackage(root, name);
      return { old: installed, new: fixedPackage(root, name, option('to'), scratch), label: `${name} as installed in ${root} to ${option('to')}` };
    }
  }
}

/** The patch's name: --name, or the output file's name, made a valid patch name. */
function nameOf(ctx: CommandContext, output: string): string {
  if (typeof ctx.options.name === 'string') return ctx.options.name;
  const base = path.basename(output).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9_]+/, '');
  return (base || 'livepatch').slice(0, 55);
}

export async function build(ctx: CommandContext): Promise<number> {
  const input = inputOf(ctx);
  if (typeof ctx.options.output !== 'string') throw lpError('ERR_LP_USAGE', { detail: `-o <patch-file> is required\n${ctx.usage}` });
  const output = path.resolve(ctx.options.output);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livepatch-build-'));
  try {
    const versions = versionsOf(ctx, input, scratch);
    const base = typeof ctx.options.base === 'string' ? readBase(path.resolve(ctx.options.base)) : undefined;
    const result = buildPatch({
      old: versions.old,
      new: versions.new,
      entries: ([] as string[]).concat((ctx.options.entry as unknown as string[] | undefined) ?? []),
      name: nameOf(ctx, output),
      replace: ctx.options['no-replace'] !== true,
      base,
      header: [
        `Built by \`livepatch build\` from ${versions.label}${base ? `, on top of ${ctx.options.base}` : ''}.`,
        'Review it before loading it: a built patch swaps the changed functions, and whether',
        'that is safe for the state the running program holds is for a person to judge (docs/build.md).',
      ],
    });
    fs.writeFileSync(output, result.text);
    if (ctx.json) {
      ctx.out(JSON.stringify({ output, functions: result.functions, warnings: result.warnings }, null, 2));
    } else {
      for (const w of result.warnings) ctx.err(`livepatch: warning: ${w}`);
      for (const f of result.functions) {
        ctx.out(`${f.module}: changed function: ${f.name}${f.carried.length ? ` (carries ${f.carried.join(', ')})` : ''}`);
        if (ctx.options['show-first-changed']) ctx.out(`  first change at ${f.firstChange}`);
      }
      ctx.out(`patch module written: ${output}`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return ctx.options.verify ? check({ ...ctx, rest: [output] }) : 0;
}
