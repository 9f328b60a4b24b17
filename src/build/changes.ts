/**
 * The functions a change touches, between two versions of one module: the
 * outline comparison (`outline.ts`), then the correlated functions whose
 * normalised token streams differ, each checked for what a replacement
 * cannot do and with every free variable resolved: a binding of the
 * running module (reached through its scope table), a declaration the
 * change adds (carried into the patch), or a global.
 */
import type { SymbolKind } from '../runtime/abi.js';
import type { Node } from '../source/parse.js';
import type { FunctionPlan } from '../source/symbol-table.js';
import { correlate } from './correlate.js';
import { lineAt, tokenRange, tokensOf, type ModuleVersion } from './module.js';
import { compareOutlines, type Addition } from './outline.js';
import { functionUses, type FunctionUses } from './scope.js';

/** Where a free variable of patch code comes from. */
export type Origin = 'scope' | 'carried' | 'global';

/** Patch code: a changed function or a declaration the change adds, with its free variables resolved. */
export interface PatchCode {
  uses: FunctionUses;
  origins: Map<string, Origin>;
}

export interface Carried extends PatchCode {
  addition: Addition;
}

export interface Replacement extends PatchCode {
  old: FunctionPlan;
  new: FunctionPlan;
  /** The additions it needs, directly or through other additions, in source order. */
  carried: Carried[];
  /** Where the first token differs, for --show-first-changed. */
  firstChange: string;
}

export interface ModuleChange {
  id: string;
  old: ModuleVersion;
  next: ModuleVersion;
  replacements: Replacement[];
  refusals: string[];
  warnings: string[];
}

const at = (v: ModuleVersion, node: Node) => `${v.id}:${lineAt(v, node.start)}`;
const fnTokens = (v: ModuleVersion, p: FunctionPlan) => tokensOf(v, p.found.fn.start, p.found.fn.end);

export function compareModules(old: ModuleVersion, next: ModuleVersion): ModuleChange {
  const outline = compareOutlines(old, next);
  const change: ModuleChange = { id: next.id, old, next, replacements: [], refusals: outline.refusals, warnings: outline.warnings };
  const { pairs, removed, added, warnings } = correlate(old.analysis.plans, next.analysis.plans,
    (a, b) => fnTokens(old, a).join(' ') === fnTokens(next, b).join(' '));
  change.warnings.push(...warnings);
  for (const p of removed) change.warnings.push(`${old.id}:${p.symbol.line}: removed function '${p.symbol.name}' stays in the running module, unused`);

  const carried = new Map<string, Carried>();
  const carry = (addition: Addition): Carried => {
    const key = `${addition.scope}\0${addition.name}`;
    let item = carried.get(key);
    if (!item) {
      const uses = functionUses(addition.value.type.includes('Function') ? addition.value : { type: 'ArrowFunctionExpression', start: 0, end: 0, params: [], body: addition.value });
      item = { addition, uses, origins: new Map() };
      carried.set(key, item);
      item.origins = resolve(old, next, addition.scope, uses, outline.additions, change.refusals, `'${addition.name}'`);
    }
    return item;
  };

  for (const pair of pairs) {
    const a = fnTokens(old, pair.old);
    const b = fnTokens(next, pair.new);
    if (a.join(' ') === b.join(' ')) continue;
    const { fn, scope } = pair.new.found;
    const uses = functionUses(fn);
    change.refusals.push(...refusalsOf(next, pair, uses));
    const origins = resolve(old, next, scope, uses, outline.additions, change.refusals, `'${pair.new.symbol.name}'`);
    const needed = closure(origins, scope, outline.additions, carry);
    change.replacements.push({ old: pair.old, new: pair.new, uses, origins, carried: needed, firstChange: firstChange(old, pair.old, next, pair.new, a, b) });
  }
  const used = new Set([...change.replacements.flatMap((r) => r.carried.map((c) => c.addition))]);
  for (const p of added) {
    const addition = outline.additions.find((x) => x.value === p.found.fn);
    if (addition && !used.has(addition)) change.warnings.push(`${next.id}:${p.symbol.line}: new function '${p.symbol.name}' is used by no changed function; left out`);
  }
  return change;
}

/** The additions patch code needs, following the additions' own free variables, in source order. */
function closure(origins: Map<string, Origin>, scope: number, additions: Addition[], carry: (a: Addition) => Carried): Carried[] {
  const found = new Map<Addition, Carried>();
  const visit = (names: Map<string, Origin>) => {
    for (const [name, origin] of names) {
      const addition = additions.find((a) => a.scope === scope && a.name === name);
      if (origin !== 'carried' || !addition || found.has(addition)) continue;
      const item = carry(addition);
      found.set(addition, item);
      visit(item.origins);
    }
  };
  visit(origins);
  return [...found.values()].sort((x, y) => x.addition.statement.start - y.addition.statement.start);
}

/**
 * Resolves the free variables of patch code declared in once-run scope
 * `scope`: a binding of that scope that the running module has is reached
 * through the scope table; one the change adds is carried; a binding of
 * an enclosing scope cannot be reached at all.
 */
function resolve(
  old: ModuleVersion, next: ModuleVersion, scope: number, uses: FunctionUses, additions: Addition[], refusals: string[], who: string,
): Map<string, Origin> {
  const origins = new Map<string, Origin>();
  const own = next.analysis.meta.scopes[scope].bindings;
  const running = old.analysis.meta.scopes[scope]?.bindings ?? [];
  for (const ref of uses.free) {
    if (origins.has(ref.name)) continue;
    const { name } = ref;
    if (additions.some((a) => a.scope === scope && a.name === name)) origins.set(name, 'carried');
    else if (own.includes(name) && running.includes(name)) origins.set(name, 'scope');
    // A new binding that is not carried was refused as added module state.
    else if (own.includes(name)) origins.set(name, 'global');
    else {
      origins.set(name, 'global');
      const outer = enclosingBinding(next, scope, name);
      if (outer !== null) {
        refusals.push(`${at(next, ref.node)}: ${who} captures '${name}' from an enclosing scope other than its own (line ${outer}): a replacement reaches only the bindings of the once-run scope it is declared in`);
      } else if (ref.write) {
        refusals.push(`${at(next, ref.node)}: ${who} assigns the undeclared variable '${name}': the patch module runs in strict mode, where that throws`);
      }
    }
  }
  return origins;
}

/** The line of the enclosing once-run scope (other than `scope` itself) that binds `name`, or null. */
function enclosingBinding(v: ModuleVersion, scope: number, name: string): number | null {
  for (let s = v.enclosing[scope]; s >= 0; s = v.enclosing[s]) {
    if (v.analysis.meta.scopes[s].bindings.includes(name)) {
      const fn = v.analysis.scan.scopes[s].fn;
      return fn ? lineAt(v, fn.start) : 1;
    }
  }
  return null;
}

const KIND_REASON = 'a replacement keeps the calling convention of the function it replaces, and callers keep theirs';

const CONSTRUCT_REASON = {
  super: 'which code outside its class cannot reach',
  'a private name': 'which code outside its class cannot reach',
  'new.target': 'which a replacement, called as a function, does not receive',
  with: 'which the patch module, strict mode code, cannot contain',
} as const;

function refusalsOf(next: ModuleVersion, pair: { old: FunctionPlan; new: FunctionPlan }, uses: FunctionUses): string[] {
  const { fn } = pair.new.found;
  const name = pair.new.symbol.name;
  const where = at(next, fn);
  const was: SymbolKind = pair.old.symbol.kind;
  const now: SymbolKind = pair.new.symbol.kind;
  const out: string[] = [];
  if (was !== now) out.push(`${where}: changed kind of '${name}' from ${was} to ${now}: ${KIND_REASON}`);
  if (now === 'constructor') {
    out.push(`${where}: changed constructor of '${name}': a replacement cannot run as the constructor: move the change into a method the constructor calls, and keep new per-instance state in shadow variables (docs/shadow-vars.md)`);
    return out;
  }
  if (now === 'generator') {
    out.push(`${where}: changed sync generator '${name}': an iterator made before the patch runs the old body to its end, and holds the transition until it finishes: patch the functions that make and consume it`);
  }
  for (const c of uses.constructs) out.push(`${at(next, c.node)}: '${name}' uses ${c.what}, ${CONSTRUCT_REASON[c.what]}`);
  const params: Node[] = fn.params;
  const rest = params.at(-1)?.type === 'RestElement' || uses.argumentsNodes.length > 0;
  const declared = params.filter((p) => p.type !== 'RestElement').length;
  const { arity } = pair.old.symbol;
  if (!pair.old.symbol.rest && (declared > arity || rest)) {
    const wants = rest ? 'every argument of the call' : `${declared} parameters`;
    out.push(`${where}: '${name}' reads ${wants} where the running function declares ${arity}: its trampoline forwards only those`);
  }
  return out;
}

function firstChange(old: ModuleVersion, a: FunctionPlan, next: ModuleVersion, b: FunctionPlan, ta: string[], tb: string[]): string {
  let i = 0;
  while (i < ta.length && i < tb.length && ta[i] === tb[i]) i++;
  const oldToken = tokenRange(old, a.found.fn.start, a.found.fn.end)[i];
  const newToken = tokenRange(next, b.found.fn.start, b.found.fn.end)[i];
  const show = (v: ModuleVersion, t: { start: number; end: number } | undefined) => (t ? `'${v.source.slice(t.start, t.end)}' (line ${lineAt(v, t.start)})` : 'the end of the function');
  return `${show(next, newToken)}, was ${show(old, oldToken)}`;
}
