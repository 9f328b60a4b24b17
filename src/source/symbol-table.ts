/**
 * Symbol tables: what `livepatch symbols` prints and what the loader records
 * for each module (`ModuleMeta`, the kallsyms of one module). Each function
 * the scan finds (`symbols.ts`) gets its sympos, kind, content hash and
 * line, and, when it can be patched, its trampoline slot and how the
 * trampoline forwards its arguments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lpError } from '../errors.js';
import { ABI_VERSION, type ModuleFormat, type ModuleMeta, type SymbolMeta } from '../runtime/abi.js';
import { formatOf } from './format.js';
import { sha256 } from './hash.js';
import { moduleIdOf } from './module-id.js';
import type { Node } from './parse.js';
import { collectDeclarations, patternNames, scanSource, type FoundFunction, type ScanResult } from './symbols.js';

/** What names a source: its module id, and how Node runs it. */
export interface SourceOptions {
  /** Module id, see `module-id.ts`. */
  id: string;
  format: ModuleFormat;
}

function hash16(text: string): string {
  return sha256(text, 16);
}

/** Builds the symbol table of a source without rewriting it (`livepatch symbols`). */
export function symbolTable(source: string, options: SourceOptions): ModuleMeta {
  return analyze(source, options).meta;
}

/** How the loader instruments one function: its symbol, and how the trampoline forwards arguments. */
export interface FunctionPlan {
  found: FoundFunction;
  symbol: SymbolMeta;
  /** The trampoline forwards `...arguments` instead of the named parameters. */
  forwardArguments: boolean;
  /** Parameter rewrite for arrows with non-simple parameters. */
  arrowParams?: ArrowParams;
}

export interface ArrowParams {
  params: string;
  declarations: string;
}

export interface Analysis {
  meta: ModuleMeta;
  plans: FunctionPlan[];
  scan: ScanResult;
}

/**
 * Scans a source and builds its symbol table: names and positions in source
 * order, kinds, hashes, lines, and for each patchable function its
 * trampoline slot and live-frame counter, or why it cannot be patched.
 */
export function analyze(source: string, options: SourceOptions): Analysis {
  const scan = scanSource(source, options.format);
  const lines = lineStarts(source);
  const seen = new Map<string, number>();
  let slots = 0;
  let counters = 0;
  const plans: FunctionPlan[] = [];

  for (const found of scan.functions) {
    const { fn, kind } = found;
    const sympos = (seen.get(found.name) ?? 0) + 1;
    seen.set(found.name, sympos);
    const symbol: SymbolMeta = {
      name: found.name,
      sympos,
      kind,
      hash: hash16(source.slice(fn.start, fn.end)),
      line: lineOf(lines, fn.start),
      slot: -1,
      aid: -1,
      scope: found.scope,
      arity: 0,
      rest: false,
    };
    const plan: FunctionPlan = { found, symbol, forwardArguments: false };
    const reason = callForm(source, plan);
    if (reason !== null) {
      symbol.reason = reason;
    } else {
      symbol.slot = slots++;
      if (kind === 'async' || kind === 'generator' || kind === 'async-generator') symbol.aid = counters++;
    }
    plans.push(plan);
  }

  const meta: ModuleMeta = {
    abi: ABI_VERSION,
    id: options.id,
    format: options.format,
    hash: hash16(source),
    symbols: plans.map((p) => p.symbol),
    scopes: scan.scopes.map((s) => ({ bindings: s.bindings })),
    slots,
    counters,
  };
  return { meta, plans, scan };
}

/**
 * Decides how the trampoline forwards arguments (`arity`, `rest`), or returns
 * why the function cannot be patched.
 */
function callForm(source: string, plan: FunctionPlan): string | null {
  const { fn, kind } = plan.found;
  const symbol = plan.symbol;
  if (kind === 'constructor') {
    return 'class constructors cannot be patched: a replacement cannot run as the constructor; patch the methods it calls';
  }
  const params: Node[] = fn.params;
  const forwardable = params.every((p, i) =>
    p.type === 'Identifier' || (i === params.length - 1 && p.type === 'RestElement' && p.argument.type === 'Identifier'));
  const isArrow = fn.type === 'ArrowFunctionExpression';

  if (forwardable) {
    const bodyText = fn.body.type === 'BlockStatement' ? source.slice(fn.body.start, fn.body.end) : '';
    // A function that reads `arguments` may see more than its declared
    // parameters, so the replacement gets all of them. The text test skips
    // the walk for the common body that never mentions the word.
    if (!isArrow && bodyText.includes('arguments') && usesArguments(fn.body, null, null)) {
      symbol.rest = true;
      plan.forwardArguments = true;
      return null;
    }
    symbol.rest = params.length > 0 && params[params.length - 1].type === 'RestElement';
    symbol.arity = symbol.rest ? params.length - 1 : params.length;
    return null;
  }
  if (!isArrow) {
    // Default values and destructuring have already run when the prologue
    // runs; `arguments` still holds what the caller passed.
    symbol.rest = true;
    plan.forwardArguments = true;
    return null;
  }
  return planArrowParams(source, plan);
}

/**
 * Arrows have no `arguments`, so an arrow with default or destructured
 * parameters gets plain parameters that the trampoline can forward, and the
 * original parameter list becomes a `let` at the top of the body:
 *
 *     ({ a }, b = 1) => body   becomes   (__lp_p0, __lp_p1 = void 0) => { …; let { a } = __lp_p0, b = __lp_p1 === void 0 ? (1) : __lp_p1; body }
 *
 * Each parameter keeps its default-ness, so `fn.length` is unchanged.
 */
function planArrowParams(source: string, plan: FunctionPlan): string | null {
  const { fn } = plan.found;
  const params: Node[] = fn.params;
  const names: string[] = [];
  const moved: string[] = [];
  const decls: string[] = [];
  params.forEach((p, i) => {
    const raw = `__lp_p${i}`;
    if (p.type === 'Identifier') {
      names.push(p.name);
    } else if (p.type === 'RestElement' && p.argument.type === 'Identifier') {
      names.push(`...${p.argument.name}`);
    } else if (p.type === 'RestElement') {
      names.push(`...${raw}`);
      decls.push(`${source.slice(p.argument.start, p.argument.end)} = ${raw}`);
      moved.push(source.slice(p.argument.start, p.argument.end));
    } else if (p.type === 'AssignmentPattern') {
      names.push(`${raw} = void 0`);
      const left = source.slice(p.left.start, p.left.end);
      const right = source.slice(p.right.start, p.right.end);
      decls.push(`${left} = ${raw} === void 0 ? (${right}) : ${raw}`);
      moved.push(left, right);
    } else {
      names.push(raw);
      decls.push(`${source.slice(p.start, p.end)} = ${raw}`);
      moved.push(source.slice(p.start, p.end));
    }
  });

  // Moving the parameters into the body must not change what their names
  // and default expressions resolve to.
  const bound: string[] = [];
  for (const p of params) patternNames(p, bound);
  if (fn.body.type === 'BlockStatement') {
    const declared: string[] = [];
    collectDeclarations(fn.body.body, declared, true);
    const clash = declared.find((name) => bound.includes(name) || moved.some((text) => mentions(text, name)));
    if (clash !== undefined) {
      return `arrow function with default or destructured parameters whose body redeclares '${clash}'`;
    }
  }
  // The `let` goes on the body's first line; multi-line parameter text is
  // folded onto it, which is safe only when folding whitespace is.
  const text = moved.join('\n');
  if (text.includes('\n') && /\/\/|\/\*|`|\\\r?\n/.test(text)) {
    return 'arrow function with multi-line default or destructured parameters containing comments or template literals';
  }
  const first = params[0];
  const last = params[params.length - 1];
  const newlines = source.slice(first.start, last.end).split('\n').length - 1;
  const fold = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  plan.arrowParams = {
    params: names.join(', ') + '\n'.repeat(newlines),
    declarations: `let ${decls.map(fold).join(', ')};`,
  };
  plan.symbol.rest = last.type === 'RestElement';
  plan.symbol.arity = plan.symbol.rest ? params.length - 1 : params.length;
  return null;
}

/**
 * Whether `node` reads its function's own `arguments` binding: arrows see it,
 * nested functions have their own, and a property name or non-computed key
 * spelled `arguments` is not a reference. Anything else that is spelled
 * `arguments` counts, which errs toward the forwarding form.
 */
function usesArguments(node: Node, parent: Node | null, key: string | null): boolean {
  if (Array.isArray(node)) return node.some((child) => usesArguments(child, parent, key));
  if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') return false;
  if (node.type === 'Identifier') {
    if (node.name !== 'arguments') return false;
    if (parent === null || parent.computed) return true;
    if (parent.type === 'MemberExpression') return key !== 'property';
    if (parent.type === 'Property' || parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') return key !== 'key';
    return true;
  }
  for (const k of Object.keys(node)) {
    const value = node[k];
    if (value !== null && typeof value === 'object' && k !== 'loc' && usesArguments(value, node, k)) return true;
  }
  return false;
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}($|[^\\w$])`).test(text);
}

/** The offset at which each line of `source` starts. */
export function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line of `offset`, given the line starts of its source. */
export function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    // Unreadable: the read below reports it.
    return file;
  }
}

/**
 * The symbol table of a file on disk, named as the loader names it: its
 * module id (`module-id.ts`; `root` stands for LIVEPATCH_ROOT), parsed as
 * Node would load it.
 */
export function fileSymbols(file: string, root?: string): ModuleMeta {
  // The real path, as Node names a module it loads through a symbolic link.
  const abs = realPath(path.resolve(file));
  let source: string;
  try {
    source = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw lpError('ERR_LP_USAGE', { detail: `cannot read ${file}: ${(err as Error).message}` });
  }
  const id = moduleIdOf(abs, root ? path.resolve(root) : null);
  try {
    return symbolTable(source, { id, format: formatOf(abs) });
  } catch (err) {
    throw lpError('ERR_LP_USAGE', { detail: `cannot parse ${file}: ${(err as Error).message}` });
  }
}
