/**
 * One version of one module as the builder reads it: the symbol table the
 * loader would record for it (`source/symbol-table.ts`), its tokens, and its
 * outline, the once-run scopes' statements with every patchable function
 * folded to one placeholder. Two versions whose outlines are equal differ
 * only inside functions, which is what a live patch can carry.
 */
import type { ModuleFormat } from '../runtime/abi.js';
import type { Node, Token } from '../source/parse.js';
import { parseSource } from '../source/parse.js';
import { analyze, lineOf, lineStarts, type Analysis, type FunctionPlan } from '../source/symbol-table.js';

export interface ModuleVersion {
  id: string;
  /** What the loader analyses: the file, stripped of its types when it is TypeScript. */
  source: string;
  /** The file as written; offsets are those of `source`. */
  text: string;
  format: ModuleFormat;
  typescript: boolean;
  analysis: Analysis;
  tokens: Token[];
  /** The node each node is a child of. */
  parents: Map<Node, Node>;
  /** Per once-run scope, its statements. */
  statements: Node[][];
  /** Per once-run scope, what its outline folds: its functions and the bodies of the scopes nested in it. */
  folds: Fold[][];
  /** Per once-run scope, the scope whose body holds it; -1 for the module body. */
  enclosing: number[];
  lines: number[];
}

/** A range of the source that the outline shows as one placeholder. */
export interface Fold {
  start: number;
  end: number;
  text: string;
}

export interface ModuleInput {
  id: string;
  source: string;
  text: string;
  format: ModuleFormat;
  typescript: boolean;
}

export function readModule(input: ModuleInput): ModuleVersion {
  const analysis = analyze(input.source, { id: input.id, format: input.format });
  const tokens: Token[] = [];
  parseSource(input.source, input.format, tokens);
  const parents = parentsOf(analysis.scan.program);
  const { scopes } = analysis.scan;
  const statements = scopes.map((s) => (s.fn ? s.fn.body.body : analysis.scan.program.body) as Node[]);
  const folds: Fold[][] = scopes.map(() => []);
  for (const plan of analysis.plans) folds[plan.found.scope].push(functionFold(plan, parents));
  const enclosing = scopes.map((s, index) => (s.fn ? enclosingScope(scopes.map((x) => x.fn), s.fn, index) : -1));
  scopes.forEach((s, index) => {
    if (s.fn) folds[enclosing[index]].push({ start: s.fn.body.start, end: s.fn.body.end, text: '{ⓢ}' });
  });
  for (const list of folds) list.sort((a, b) => a.start - b.start);
  return { ...input, analysis, tokens, parents, statements, folds, enclosing, lines: lineStarts(input.source) };
}

/** A function folds to `ƒname`; a class or object member folds whole, its key and kind with it. */
function functionFold(plan: FunctionPlan, parents: Map<Node, Node>): Fold {
  const { fn } = plan.found;
  const parent = parents.get(fn);
  const member = parent && (parent.type === 'MethodDefinition' || parent.type === 'Property') && parent.value === fn ? parent : fn;
  return { start: member.start, end: member.end, text: `ƒ${plan.symbol.name}` };
}

/** The once-run scope whose body holds the IIFE `fn` (scope `index`): the innermost one around it, or the module. */
function enclosingScope(fns: (Node | null)[], fn: Node, index: number): number {
  let best = 0;
  fns.forEach((outer, i) => {
    if (i === index || !outer) return;
    if (outer.body.start <= fn.start && fn.end <= outer.body.end && (best === 0 || outer.start > fns[best]!.start)) best = i;
  });
  return best;
}

function parentsOf(program: Node): Map<Node, Node> {
  const parents = new Map<Node, Node>();
  const visit = (node: Node) => {
    for (const key of Object.keys(node)) {
      if (key === 'loc') continue;
      const value = node[key];
      const children = Array.isArray(value) ? value : [value];
      for (const child of children) {
        if (child === null || typeof child !== 'object' || typeof child.type !== 'string') continue;
        parents.set(child, node);
        visit(child);
      }
    }
  };
  visit(program);
  return parents;
}

/** The index of the first token that starts at or after `offset`. */
function firstToken(tokens: Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].start < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The tokens of `[start, end)`, each as its text: the range with positions, whitespace and comments left out. */
export function tokensOf(version: ModuleVersion, start: number, end: number, folds: Fold[] = []): string[] {
  const out: string[] = [];
  let fold = 0;
  let shown = -1;
  for (let i = firstToken(version.tokens, start); i < version.tokens.length && version.tokens[i].end <= end; i++) {
    const token = version.tokens[i];
    while (fold < folds.length && folds[fold].end <= token.start) fold++;
    if (fold < folds.length && folds[fold].start <= token.start) {
      if (shown !== fold) out.push(folds[fold].text);
      shown = fold;
      continue;
    }
    out.push(version.source.slice(token.start, token.end));
  }
  return out;
}

/** The token ending last at or before `offset`. */
export function tokenBefore(version: ModuleVersion, offset: number): Token {
  return version.tokens[firstToken(version.tokens, offset) - 1];
}

/** The tokens of `[start, end)` with their offsets. */
export function tokenRange(version: ModuleVersion, start: number, end: number): Token[] {
  const from = firstToken(version.tokens, start);
  let to = from;
  while (to < version.tokens.length && version.tokens[to].end <= end) to++;
  return version.tokens.slice(from, to);
}

/** A statement's outline: its tokens, with what scope `scope` folds folded. */
export function outlineOf(version: ModuleVersion, scope: number, statement: Node): string {
  return tokensOf(version, statement.start, statement.end, version.folds[scope]).join(' ');
}

export function lineAt(version: ModuleVersion, offset: number): number {
  return lineOf(version.lines, offset);
}
