/**
 * The patch builder, the analog of kpatch-build and klp-build: compares two
 * versions of a program module by module (create-diff-object's work, in
 * `changes.ts`), refuses what a function swap cannot carry, and writes the
 * patch module (`emit.ts`). Its results map to klp-build's exit codes: a
 * patch (0), an error (1), a change that cannot be expressed as a live
 * patch (2, ERR_LP_BUILD_REFUSED), or no change at all (3,
 * ERR_LP_BUILD_NO_CHANGE).
 */
import { lpError } from '../errors.js';
import { compareModules, type ModuleChange } from './changes.js';
import { emitPatch, type BaseParts } from './emit.js';
import { readModule, type ModuleInput, type ModuleVersion } from './module.js';
import { readTree } from './tree.js';

export interface BuildOptions {
  old: string;
  new: string;
  /** Entry points beyond those package.json names, relative to each tree. */
  entries: string[];
  name: string;
  replace: boolean;
  header: string[];
  base?: BaseParts;
}

/** What the build found in one function, as the CLI reports it. */
export interface BuiltFunction {
  module: string;
  name: string;
  line: number;
  firstChange: string;
  carried: string[];
}

export interface BuildResult {
  text: string;
  functions: BuiltFunction[];
  warnings: string[];
}

function read(input: ModuleInput): ModuleVersion {
  try {
    return readModule(input);
  } catch (err) {
    throw lpError('ERR_LP_BUILD_PARSE', { detail: `${input.id}: ${(err as Error).message}` }, { cause: err });
  }
}

/** Compares every module the two trees have, and refuses a module only one of them has when the program could load it. */
function compareTrees(oldModules: Map<string, ModuleInput>, newModules: Map<string, ModuleInput>): { changes: ModuleChange[]; refusals: string[]; warnings: string[] } {
  const changes: ModuleChange[] = [];
  const refusals: string[] = [];
  const warnings: string[] = [];
  for (const [id, next] of newModules) {
    const old = oldModules.get(id);
    if (!old) {
      refusals.push(`${id}: added module: a patch cannot add a file to the running program; move what the change needs into the modules that use it`);
      continue;
    }
    if (old.source === next.source) continue;
    const change = compareModules(read(old), read(next));
    changes.push(change);
    refusals.push(...change.refusals);
    warnings.push(...change.warnings);
  }
  for (const id of oldModules.keys()) {
    if (!newModules.has(id)) warnings.push(`${id}: removed module stays in the running program`);
  }
  return { changes, refusals, warnings };
}

export function buildPatch(options: BuildOptions): BuildResult {
  const { changes, refusals, warnings } = compareTrees(readTree(options.old, options.entries).modules, readTree(options.new, options.entries).modules);
  if (refusals.length > 0) {
    throw lpError('ERR_LP_BUILD_REFUSED', { detail: refusals.map((r) => `\n  ${r}`).join('') });
  }
  const changed = changes.filter((c) => c.replacements.length > 0);
  if (changed.length === 0) throw lpError('ERR_LP_BUILD_NO_CHANGE', { detail: `${options.old} and ${options.new}` });
  const functions = changed.flatMap((c) => c.replacements.map((r) => ({
    module: c.id,
    name: r.old.symbol.name,
    line: r.new.symbol.line,
    firstChange: r.firstChange,
    carried: r.carried.map((x) => x.addition.name),
  })));
  return { text: emitPatch(changed, options), functions, warnings };
}
