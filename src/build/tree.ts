/**
 * The modules of one version of a program or package: the files the
 * program loads, named as the loader names them. A tree whose package.json
 * names its entry points (`main`, `exports`, `bin`) has the files reachable
 * from them by relative `require` and `import`; a program that names none
 * has every JavaScript file but its tests, examples and benchmarks. What a
 * build compares is what could be running: a package's browser bundle or a
 * program's test file is not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lpError } from '../errors.js';
import { isTypeScript, stripTypes } from '../loader/typescript.js';
import { formatOf } from '../source/format.js';
import { moduleIdOf } from '../source/module-id.js';
import { parseSource, type Node } from '../source/parse.js';
import type { ModuleInput } from './module.js';

const SOURCE = /\.(?:[cm]?js|[cm]?ts)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
/** Directories that hold no code a program runs. */
const NOT_RUN = new Set(['node_modules', 'test', 'tests', '__tests__', 'spec', 'example', 'examples', 'bench', 'benchmark', 'benchmarks', 'coverage', 'docs']);
const TEST_FILE = /\.(?:test|spec)\.[cm]?[jt]s$/;

export interface Tree {
  root: string;
  /** By module id. */
  modules: Map<string, ModuleInput>;
}

/** Reads the modules of the tree at `root`; `entries` (paths relative to it) add entry points to those its package.json names. */
export function readTree(root: string, entries: string[] = []): Tree {
  const named = [...entryPoints(root), ...entries.map((e) => path.resolve(root, e))];
  const files = named.length > 0 ? reachable(named) : everyFile(root);
  const modules = new Map<string, ModuleInput>();
  for (const file of files) {
    const input = readSource(root, file);
    modules.set(input.id, input);
  }
  return { root, modules };
}

function readSource(root: string, file: string): ModuleInput {
  const text = fs.readFileSync(file, 'utf8');
  const typescript = isTypeScript(file);
  return {
    id: moduleIdOf(file, root),
    text,
    source: typescript ? stripTypes(text, file) : text,
    format: formatOf(file),
    typescript,
  };
}

function everyFile(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && !NOT_RUN.has(entry.name) && !entry.name.startsWith('.')) walk(full);
      else if (entry.isFile() && SOURCE.test(entry.name) && !DECLARATION.test(entry.name) && !TEST_FILE.test(entry.name)) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

/** The files package.json names as entry points, resolved. */
function entryPoints(root: string): string[] {
  let pkg: { main?: unknown; exports?: unknown; bin?: unknown };
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  } catch {
    return [];
  }
  const targets: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v);
  };
  collect(pkg.exports);
  collect(pkg.bin);
  if (typeof pkg.main === 'string') targets.push(pkg.main);
  else if (targets.length === 0 && pkg.exports === undefined && fs.existsSync(path.join(root, 'index.js'))) targets.push('index.js');
  return targets.filter((t) => !t.includes('*')).map((t) => resolveFile(path.resolve(root, t))).filter((f): f is string => f !== null);
}

/** Node's resolution of a relative specifier to a file: as is, with an extension, or a directory's index. */
function resolveFile(target: string): string | null {
  for (const candidate of [target, `${target}.js`, `${target}.cjs`, `${target}.mjs`, `${target}.ts`, path.join(target, 'index.js')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return SOURCE.test(candidate) ? candidate : null;
  }
  return null;
}

/** Every file reachable from `entries` by relative `require`, `import` and `export … from`. */
function reachable(entries: string[]): string[] {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of relativeSpecifiers(file)) {
      const found = resolveFile(path.resolve(path.dirname(file), specifier));
      if (found) queue.push(found);
    }
  }
  return [...seen].sort();
}

function relativeSpecifiers(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  let program: Node;
  try {
    program = parseSource(isTypeScript(file) ? stripTypes(text, file) : text, formatOf(file));
  } catch (err) {
    throw lpError('ERR_LP_BUILD_PARSE', { detail: `${file}: ${(err as Error).message}` });
  }
  const out: string[] = [];
  const visit = (node: Node) => {
    const literal = (n: Node | undefined) => (n?.type === 'Literal' && typeof n.value === 'string' ? n.value : null);
    let specifier: string | null = null;
    if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && node.callee.name === 'require') specifier = literal(node.arguments[0]);
    else if (node.type === 'ImportExpression' || node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration') specifier = literal(node.source);
    if (specifier?.startsWith('./') || specifier?.startsWith('../')) out.push(specifier);
    for (const key of Object.keys(node)) {
      const value = node[key];
      for (const child of Array.isArray(value) ? value : [value]) if (child && typeof child.type === 'string') visit(child);
    }
  };
  visit(program);
  return out;
}
