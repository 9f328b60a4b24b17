/**
 * Comparing the outlines of two versions of a module: what changed outside
 * its functions, the part of a change a function swap cannot carry. These
 * are create-diff-object's refusals in JavaScript terms: a module's top
 * level ran when it loaded (its `.data` and `__init`), its exports were
 * bound then, and its classes were built then. What a change adds at the
 * top level is carried into the patch when it is a function, or a value
 * whose initializer computes nothing with side effects (`carried.ts`).
 */
import { diffArrays } from 'diff';
import type { Node } from '../source/parse.js';
import { lineAt, outlineOf, tokensOf, type ModuleVersion } from './module.js';

/** A top-level declaration the change adds, which the patch may carry. */
export interface Addition {
  name: string;
  /** Its once-run scope in the new version. */
  scope: number;
  /** The statement that declares it. */
  statement: Node;
  /** The function, or the initializer of the value. */
  value: Node;
}

export interface OutlineDiff {
  refusals: string[];
  warnings: string[];
  additions: Addition[];
}

export const REASON = {
  state: "the module's top level ran when it loaded and does not run again: set state from a postPatch callback, or keep new state in shadow variables (docs/build.md)",
  exports: "a module's exports are bound when it loads; a patch replaces functions, not what a module exports",
  imports: "a module's imports are bound when it loads: import what the fix needs in the patch module itself",
  klass: 'a class is built when its module loads; a patch replaces the bodies of its methods only: keep new per-instance state in shadow variables (docs/shadow-vars.md)',
  statement: "the module's top level ran when it loaded and does not run again: do its work from a postPatch callback (docs/callbacks.md)",
} as const;

/** Compares the outlines of the module bodies and, within unchanged statements, of the IIFE scopes they hold. */
export function compareOutlines(old: ModuleVersion, next: ModuleVersion): OutlineDiff {
  const diff: OutlineDiff = { refusals: [], warnings: [], additions: [] };
  alignScopes(old, next, 0, 0, diff);
  return diff;
}

function alignScopes(old: ModuleVersion, next: ModuleVersion, oldScope: number, newScope: number, diff: OutlineDiff): void {
  const oldStatements = old.statements[oldScope];
  const newStatements = next.statements[newScope];
  const changes = diffArrays(
    oldStatements.map((s) => outlineOf(old, oldScope, s)),
    newStatements.map((s) => outlineOf(next, newScope, s)),
  );
  let o = 0;
  let n = 0;
  let removed: Node[] = [];
  const flush = (added: Node[]) => {
    const common = Math.min(removed.length, added.length);
    for (let i = 0; i < common; i++) {
      // A function declaration in place of another is one removed and one added.
      if (removed[i].type === 'FunctionDeclaration' && added[i].type === 'FunctionDeclaration') {
        addedStatement(next, newScope, added[i], diff);
      } else {
        diff.refusals.push(...modified(old, removed[i], next, added[i]));
      }
    }
    for (const s of removed.slice(common)) diff.refusals.push(...removedStatement(old, s));
    for (const s of added.slice(common)) addedStatement(next, newScope, s, diff);
    removed = [];
  };
  for (const change of changes) {
    const count = change.count ?? change.value.length;
    if (change.removed) {
      removed = oldStatements.slice(o, o + count);
      o += count;
    } else if (change.added) {
      flush(newStatements.slice(n, n + count));
      n += count;
    } else {
      flush([]);
      for (let i = 0; i < count; i++) alignNested(old, oldStatements[o + i], oldScope, next, newStatements[n + i], newScope, diff);
      o += count;
      n += count;
    }
  }
  flush([]);
}

/** Two statements with equal outlines hold their IIFE scopes in the same order: compare those too. */
function alignNested(old: ModuleVersion, o: Node, oldScope: number, next: ModuleVersion, n: Node, newScope: number, diff: OutlineDiff): void {
  const inside = (v: ModuleVersion, s: Node, scope: number) => v.analysis.scan.scopes
    .map((x, index) => ({ fn: x.fn, index }))
    .filter(({ fn, index }) => fn && v.enclosing[index] === scope && s.start <= fn.start && fn.end <= s.end)
    .map(({ index }) => index);
  const olds = inside(old, o, oldScope);
  const news = inside(next, n, newScope);
  olds.forEach((index, i) => alignScopes(old, next, index, news[i], diff));
}

const at = (v: ModuleVersion, node: Node) => `${v.id}:${lineAt(v, node.start)}`;

/** The statement's first line, as a person finds it in the file. */
function quote(v: ModuleVersion, node: Node): string {
  const line = v.source.slice(node.start, node.end).split('\n')[0].trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function unwrapExport(s: Node): Node {
  return (s.type === 'ExportNamedDeclaration' || s.type === 'ExportDefaultDeclaration') && s.declaration ? s.declaration : s;
}

function isExport(s: Node): boolean {
  if (s.type.startsWith('Export')) return true;
  if (s.type !== 'ExpressionStatement') return false;
  let e = s.expression;
  while (e.type === 'AssignmentExpression') {
    let target = e.left;
    while (target.type === 'MemberExpression') target = target.object;
    if (target.type === 'Identifier' && (target.name === 'exports' || target.name === 'module')) return true;
    e = e.right;
  }
  return false;
}

function classOf(s: Node): Node | null {
  const d = unwrapExport(s);
  if (d.type === 'ClassDeclaration' || d.type === 'ClassExpression') return d;
  if (d.type === 'VariableDeclaration' && d.declarations.length === 1 && d.declarations[0].init?.type === 'ClassExpression') return d.declarations[0].init;
  if (d.type === 'ExpressionStatement' && d.expression.type === 'AssignmentExpression' && d.expression.right.type === 'ClassExpression') return d.expression.right;
  return null;
}

function declaredNames(d: Node): string[] {
  return d.declarations.filter((x: Node) => x.id.type === 'Identifier').map((x: Node) => x.id.name);
}

/** Why a statement that both versions have, changed outside its functions, cannot be patched. */
function modified(old: ModuleVersion, o: Node, next: ModuleVersion, n: Node): string[] {
  const oldClass = classOf(o);
  const newClass = classOf(n);
  if (oldClass && newClass) return compareClasses(old, oldClass, next, newClass);
  const d = unwrapExport(n);
  const od = unwrapExport(o);
  if (d.type === 'VariableDeclaration' && od.type === 'VariableDeclaration') {
    const oldDecls = new Map<string, Node>(od.declarations.filter((x: Node) => x.id.type === 'Identifier').map((x: Node) => [x.id.name, x]));
    const names = d.declarations
      .filter((x: Node) => x.id.type !== 'Identifier' || !oldDecls.has(x.id.name) || !sameTokens(old, oldDecls.get(x.id.name)!, next, x))
      .map((x: Node) => (x.id.type === 'Identifier' ? `'${x.id.name}'` : `'${next.source.slice(x.id.start, x.id.end)}'`));
    return [`${at(next, n)}: changed initializer of module state ${names.join(', ') || declaredNames(d).join(', ')}: ${REASON.state}`];
  }
  if (isExport(n) || isExport(o)) return [`${at(next, n)}: changed export \`${quote(next, n)}\`: ${REASON.exports}`];
  if (n.type === 'ImportDeclaration') return [`${at(next, n)}: changed import \`${quote(next, n)}\`: ${REASON.imports}`];
  return [`${at(next, n)}: changed top-level statement \`${quote(next, n)}\`: ${REASON.statement}`];
}

function sameTokens(old: ModuleVersion, o: Node, next: ModuleVersion, n: Node): boolean {
  return tokensOf(old, o.start, o.end).join(' ') === tokensOf(next, n.start, n.end).join(' ');
}

function removedStatement(old: ModuleVersion, s: Node): string[] {
  const d = unwrapExport(s);
  if (isExport(s)) return [`${at(old, s)}: removed export \`${quote(old, s)}\`: ${REASON.exports}`];
  // A function the new version no longer has stays in the running module, unused.
  if (d.type === 'FunctionDeclaration') return [];
  if (d.type === 'VariableDeclaration') return [`${at(old, s)}: removed module state ${declaredNames(d).map((x) => `'${x}'`).join(', ')}: ${REASON.state}`];
  if (s.type === 'ImportDeclaration') return [];
  return [`${at(old, s)}: removed top-level statement \`${quote(old, s)}\`: ${REASON.statement}`];
}

function addedStatement(next: ModuleVersion, scope: number, s: Node, diff: OutlineDiff): void {
  if (isExport(s)) {
    diff.refusals.push(`${at(next, s)}: added export \`${quote(next, s)}\`: ${REASON.exports}`);
  } else if (s.type === 'ImportDeclaration') {
    diff.refusals.push(`${at(next, s)}: added import \`${quote(next, s)}\`: ${REASON.imports}`);
  } else if (s.type === 'FunctionDeclaration') {
    diff.additions.push({ name: s.id.name, scope, statement: s, value: s });
  } else if (s.type === 'VariableDeclaration' && s.declarations.every((d: Node) => d.id.type === 'Identifier' && d.init && isCarriable(d.init))) {
    for (const d of s.declarations) diff.additions.push({ name: d.id.name, scope, statement: s, value: d.init });
  } else if (s.type === 'VariableDeclaration') {
    diff.refusals.push(`${at(next, s)}: added module state ${declaredNames(s).map((x) => `'${x}'`).join(', ')}: ${REASON.state}`);
  } else {
    diff.refusals.push(`${at(next, s)}: added top-level statement \`${quote(next, s)}\`: ${REASON.statement}`);
  }
}

/**
 * An initializer the patch can evaluate again, once per module instance,
 * with the same result as the module's top level would have had: a
 * function, or a value made of literals, names, property reads, operators
 * and `require` of a literal specifier. Anything that calls or constructs
 * could have effects, or build state that the module's other code never
 * sees, and stays out.
 */
function isCarriable(node: Node): boolean {
  switch (node.type) {
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'Literal':
    case 'Identifier':
      return true;
    case 'TemplateLiteral':
      return node.expressions.every(isCarriable);
    case 'ArrayExpression':
      return node.elements.every((e: Node | null) => e === null || isCarriable(e.type === 'SpreadElement' ? e.argument : e));
    case 'ObjectExpression':
      return node.properties.every((p: Node) => p.type === 'Property' && (!p.computed || isCarriable(p.key)) && isCarriable(p.value));
    case 'MemberExpression':
      return isCarriable(node.object) && (!node.computed || isCarriable(node.property));
    case 'UnaryExpression':
      return node.operator !== 'delete' && isCarriable(node.argument);
    case 'BinaryExpression':
    case 'LogicalExpression':
      return isCarriable(node.left) && isCarriable(node.right);
    case 'ConditionalExpression':
      return isCarriable(node.test) && isCarriable(node.consequent) && isCarriable(node.alternate);
    case 'CallExpression':
      return node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1 &&
        node.arguments[0].type === 'Literal' && typeof node.arguments[0].value === 'string';
    default:
      return false;
  }
}

/** A class member's slot: a method and a getter of one key are one slot, so that a change between them is a change of kind. */
function memberSlot(v: ModuleVersion, m: Node): string {
  const key = m.computed ? `[${v.source.slice(m.key.start, m.key.end)}]` : m.key.type === 'PrivateIdentifier' ? `#${m.key.name}` : String(m.key.name ?? m.key.value);
  return `${m.static ? 'static ' : ''}${m.kind === 'set' ? 'set ' : ''}${key}`;
}

function memberKind(m: Node): string {
  if (m.type === 'StaticBlock') return 'static block';
  if (m.type !== 'MethodDefinition') return 'field';
  return m.kind === 'get' ? 'getter' : m.kind === 'set' ? 'setter' : m.kind;
}

/** What changed in a class's shape: superclass, fields, members added or removed, a member's kind. */
function compareClasses(old: ModuleVersion, oc: Node, next: ModuleVersion, nc: Node): string[] {
  const name = nc.id?.name ?? oc.id?.name ?? 'class';
  const where = at(next, nc);
  const out: string[] = [];
  const refuse = (what: string, node: Node) => out.push(`${at(next, node)}: ${what}: ${REASON.klass}`);
  if ((oc.superClass === null) !== (nc.superClass === null) || (nc.superClass && !sameTokens(old, oc.superClass, next, nc.superClass))) {
    refuse(`changed superclass of '${name}'`, nc);
  }
  const members = (v: ModuleVersion, c: Node) => new Map<string, Node>(c.body.body.map((m: Node, i: number) => [m.type === 'StaticBlock' ? `static block ${i}` : memberSlot(v, m), m]));
  const olds = members(old, oc);
  const news = members(next, nc);
  const label = (m: Node, slot: string) => `${memberKind(m)} '${name}${m.static ? '' : '.prototype'}.${slot.replace(/^(static |set )+/, '')}'`;
  for (const [slot, m] of news) {
    const was = olds.get(slot);
    if (!was) refuse(`added ${label(m, slot)}`, m);
    else if (memberKind(was) !== memberKind(m)) refuse(`changed kind of ${label(was, slot)} to ${memberKind(m)}`, m);
    else if (m.type !== 'MethodDefinition' && !sameTokens(old, was, next, m)) refuse(`changed ${label(m, slot)}`, m);
  }
  for (const [slot, m] of olds) {
    if (!news.has(slot)) out.push(`${where}: removed ${label(m, slot)} (old line ${lineAt(old, m.start)}): ${REASON.klass}`);
  }
  if (out.length === 0) refuse(`changed class '${name}'`, nc);
  return out;
}
