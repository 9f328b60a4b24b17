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
 * on lines where a prologue or the header was inserted; `moves` records
 * where each original offset went, from which the loader moves a module's
 * own source map onto the rewritten code (`source-maps.ts`), so that mapped
 * frames keep their columns too.
 */
import { lpError } from '../errors.js';
import { ABI_VERSION, RUNTIME_GLOBAL, type ModuleMeta } from '../runtime/abi.js';
import { Edits, type Moves } from '../source/edits.js';
import { sha256 } from '../source/hash.js';
import type { Node } from '../source/parse.js';
import { analyze, type FunctionPlan, type SourceOptions } from '../source/symbol-table.js';

export interface InstrumentResult {
  code: string;
  meta: ModuleMeta;
  /** Key under which the runtime finds `meta` when the module announces itself. */
  metaKey: string;
  /** Where the original offsets went in `code`. */
  moves: Moves;
}

/** Marks instrumented output, so a module reaching both loaders is rewritten once. */
export const INSTRUMENTED_MARK = 'var __lp_m = ';

const RT = RUNTIME_GLOBAL;
const SCOPE_EVAL = '(__lp_s, __lp_v) => eval(__lp_s)';

export function metaKeyOf(source: string, options: SourceOptions): string {
  return sha256(`${ABI_VERSION}\0${options.format}\0${options.id}\0${source}`, 32);
}

export function instrument(source: string, options: SourceOptions): InstrumentResult {
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

  const { code, moves } = edits.applyMoving(source);
  return { code, meta, metaKey, moves };
}

function emitTrampoline(source: string, plan: FunctionPlan, edits: Edits): void {
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
  throw lpError('ERR_LP_INTERNAL', { detail: `no '=>' found for the arrow function at offset ${fn.start}` });
}
