/**
 * The load-time rewrite: the analog of compiling with fentry.
 *
 * Every instrumentable function gets a prologue that checks its trampoline
 * slot, a hoisted module-level `var __lp_h<n>`:
 *
 *     if (__lp_h3 !== void 0) {
 *       const __lp_r = __lp_h3(this, a, b);
 *       if (typeof __lp_r !== 'symbol' || __lp_r !== __lp_n) return __lp_r;
 *     }
 *
 * (on one line). An empty slot costs one load and one compare, and the
 * function stays inlinable. A set slot receives `this` as its first argument
 * (a `.call` would cost ~8 ns and block inlining). The handler returns the
 * NOP sentinel `__lp_n` to fall through to the original body without
 * re-entering the trampoline. The `typeof` test comes first because V8
 * folds it for a result of known type, where a bare `!==` against a symbol
 * calls the generic StrictEqual builtin on every patched call. Async
 * functions and generators also count their live frames per task in a
 * try/finally, which is how transitions see suspended frames.
 *
 * The rewrite is line-preserving: nothing inserts a newline before original
 * code, so stack traces keep their lines without source maps. Columns shift
 * only on lines where a prologue or the header was inserted.
 */
import { createHash } from 'node:crypto';
import { ABI_VERSION, RUNTIME_GLOBAL, type ModuleMeta, type SymbolMeta } from '../runtime/abi.js';
import {
  collectDeclarations, patternNames, scanSource,
  type FoundFunction, type Node,
} from './symbols.js';

export interface InstrumentOptions {
  /** Module id, see `module-id.ts`. */
  id: string;
  format: 'esm' | 'cjs';
}

export interface InstrumentResult {
  code: string;
  meta: ModuleMeta;
  /** Key under which the runtime finds `meta` when the module announces itself. */
  metaKey: string;
}

/** Marks instrumented output, so a module reaching both loaders is rewritten once. */
export const INSTRUMENTED_MARK = 'var __lp_m = ';

const RT = RUNTIME_GLOBAL;
const SCOPE_EVAL = '(__lp_s, __lp_v) => eval(__lp_s)';

export function hash16(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function metaKeyOf(source: string, options: InstrumentOptions): string {
  return createHash('sha256')
    .update(`${ABI_VERSION}\0${options.format}\0${options.id}\0`)
    .update(source)
    .digest('hex')
    .slice(0, 32);
}

/** Builds the symbol table of a source without rewriting it (`livepatch symbols`). */
export function symbolTable(source: string, options: InstrumentOptions): ModuleMeta {
  return analyze(source, options).meta;
}

export function instrument(source: string, options: InstrumentOptions): InstrumentResult {
  const { meta, plans, scan } = analyze(source, options);
  const edits = new Edits();

  for (const plan of plans) if (plan.symbol.slot >= 0) emitTrampoline(source, plan, edits);
  scan.scopes.forEach((scope, index) => {
    if (scope.fn) edits.insertAfterDirectives(scope.fn.body.start + 1, scope.fn.body.body, `__lp_m.scope(${index}, ${SCOPE_EVAL});`);
  });

  const location = options.format === 'esm' ? 'import.meta.url' : '__filename';
  const metaKey = metaKeyOf(source, options);
  let header = `${INSTRUMENTED_MARK}${RT}.moduleComing(${location}, "${metaKey}", ${SCOPE_EVAL}), __lp_n = __lp_m.nop, __lp_b = __lp_m.base`;
  for (let slot = 0; slot < meta.slots; slot++) header += `, __lp_h${slot}`;
  // Line 1, after a hashbang line and after the directive prologue.
  const top = source.startsWith('#!') ? source.indexOf('\n') + 1 || source.length : 0;
  edits.insertAfterDirectives(top, scan.program.body, `${header};`);
  // ESM reports LIVE after its body, top-level await included. CommonJS
  // reports it from the compile hook, because a top-level `return` would
  // skip a trailing statement. The newline keeps a trailing `//` comment from
  // swallowing the call; it comes after every original line.
  if (options.format === 'esm') edits.insert(source.length, `\n;${RT}.moduleLive(__lp_m);`);

  return { code: edits.apply(source), meta, metaKey };
}

interface Plan {
  found: FoundFunction;
  symbol: SymbolMeta;
  /** The trampoline forwards `...arguments` instead of the named parameters. */
  forwardArguments: boolean;
  /** Parameter rewrite for arrows with non-simple parameters. */
  arrowParams?: ArrowParams;
}

interface ArrowParams {
  params: string;
  declarations: string;
}

function analyze(source: string, options: InstrumentOptions) {
  const scan = scanSource(source, options.format);
  const lines = lineStarts(source);
  const seen = new Map<string, number>();
  let slots = 0;
  let counters = 0;
  const plans: Plan[] = [];

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
    const plan: Plan = { found, symbol, forwardArguments: false };
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
function callForm(source: string, plan: Plan): string | null {
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
function planArrowParams(source: string, plan: Plan): string | null {
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

function emitTrampoline(source: string, plan: Plan, edits: Edits): void {
  const { fn, kind } = plan.found;
  const { slot, aid } = plan.symbol;
  const h = `__lp_h${slot}`;

  const args: string[] = ['this'];
  if (plan.arrowParams) {
    fn.params.forEach((p: Node, i: number) => {
      if (p.type === 'Identifier') args.push(p.name);
      else if (p.type !== 'RestElement') args.push(`__lp_p${i}`);
      else args.push(p.argument.type === 'Identifier' ? `...${p.argument.name}` : `...__lp_p${i}`);
    });
  } else if (plan.forwardArguments) {
    args.push('...arguments');
  } else {
    for (const p of fn.params as Node[]) args.push(p.type === 'RestElement' ? `...${p.argument.name}` : p.name);
  }
  const call = `${h}(${args.join(', ')})`;

  let prologue: string;
  if (kind === 'setter') {
    prologue = `if (${h} !== void 0 && ${call} !== __lp_n) return;`;
  } else {
    const generator = kind === 'generator' || kind === 'async-generator';
    prologue = `if (${h} !== void 0) { const __lp_r = ${call}; if (typeof __lp_r !== 'symbol' || __lp_r !== __lp_n) return ${generator ? 'yield* ' : ''}__lp_r; }`;
  }

  let enter = '';
  let leave = '';
  if (aid >= 0) {
    const index = `__lp_b + ${aid}`;
    enter = kind === 'async'
      ? `const __lp_k = ${RT}.enter(${index}); try {`
      : `const __lp_k = ${RT}.enterGen(${index}); try {`;
    leave = kind === 'async'
      ? `} finally { ${RT}.leave(__lp_k, ${index}); }`
      : `} finally { ${RT}.leaveGen(__lp_k); }`;
  }
  const declarations = plan.arrowParams ? plan.arrowParams.declarations : '';

  if (plan.arrowParams) {
    edits.replace(fn.params[0].start, fn.params[fn.params.length - 1].end, plan.arrowParams.params);
  }
  if (fn.body.type === 'BlockStatement') {
    edits.insertAfterDirectives(fn.body.start + 1, fn.body.body, prologue + enter + declarations);
    if (leave) edits.insert(fn.body.end - 1, leave);
  } else {
    // Concise arrow: give it a block body on the same lines.
    const arrow = arrowToken(source, fn);
    edits.insert(arrow, `{ ${prologue}${enter}${declarations} return (`);
    edits.insert(fn.end, `); ${leave}}`);
  }
}

/** Offset just after the `=>` of an arrow function. */
function arrowToken(source: string, fn: Node): number {
  let i = fn.params.length ? fn.params[fn.params.length - 1].end : fn.start;
  while (i < fn.body.start) {
    const c = source[i];
    if (c === '/' && source[i + 1] === '*') {
      i = source.indexOf('*/', i + 2) + 2;
    } else if (c === '/' && source[i + 1] === '/') {
      i = source.indexOf('\n', i);
    } else if (c === '=' && source[i + 1] === '>') {
      return i + 2;
    } else {
      i++;
    }
  }
  throw new Error(`no '=>' found for the arrow function at offset ${fn.start}`);
}

function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Text edits applied in one pass. Insertions at the same offset keep their order. */
class Edits {
  private list: { start: number; end: number; text: string; seq: number }[] = [];

  insert(offset: number, text: string): void {
    this.list.push({ start: offset, end: offset, text, seq: this.list.length });
  }

  /**
   * Inserts after the directive prologue (`"use strict"`) of `statements`,
   * or at `offset` when there is none: code before a directive would turn it
   * into a plain string. The `;` keeps a directive that relies on ASI one.
   */
  insertAfterDirectives(offset: number, statements: Node[], text: string): void {
    let last: Node | null = null;
    for (const statement of statements) {
      if (statement.type !== 'ExpressionStatement' || statement.directive === undefined) break;
      last = statement;
    }
    if (last) this.insert(last.end, `;${text}`);
    else this.insert(offset, text);
  }

  replace(start: number, end: number, text: string): void {
    this.list.push({ start, end, text, seq: this.list.length });
  }

  apply(source: string): string {
    this.list.sort((a, b) => a.start - b.start || a.seq - b.seq);
    let out = '';
    let pos = 0;
    for (const edit of this.list) {
      out += source.slice(pos, edit.start) + edit.text;
      pos = Math.max(pos, edit.end);
    }
    return out + source.slice(pos);
  }
}
