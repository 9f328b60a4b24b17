/**
 * Writing the patch module: a TypeScript file whose default export is the
 * definition, readable as if written by hand (docs/writing-patches.md).
 * Each replacement is the new version's function, moved out of its module
 * into the `self` convention: `this` becomes the first parameter, the
 * module's bindings are reached through a typed scope table (`withScope`),
 * and declarations the change adds are carried into the replacement's
 * factory. The new version's text is kept; only what the move requires is
 * rewritten, with `source/edits.ts`. JavaScript gets the type annotations
 * `tsc --strict` requires: `any` where JavaScript declares no type.
 */
import path from 'node:path';
import type { Node } from '../source/parse.js';
import { Edits } from '../source/edits.js';
import type { PatchCode, Carried, ModuleChange, Replacement } from './changes.js';
import { lineAt, tokenBefore, tokenRange, type ModuleVersion } from './module.js';
import { functionUses } from './scope.js';
import { scopeMember } from './types.js';

export interface EmitOptions {
  name: string;
  replace: boolean;
  /** The first lines of the file: what it was built from. */
  header: string[];
  /** What a base patch carries into this one (`base.ts`). */
  base?: BaseParts;
}

/** The parts of a base patch that a cumulative patch carries over, as text. */
export interface BaseParts {
  /** Names imported from 'livepatch'. */
  imports: string[];
  /** Its other top-level statements: types, helpers, constants. */
  preamble: string[];
  /** Per module id, its func entries and its callbacks property. */
  objects: { module: string; funcs: { key: string; text: string }[]; callbacks: string | null }[];
  states: string | null;
}

interface TextEdit {
  start: number;
  end: number;
  text: string;
}

const INDENT = '  ';

/** A single-quoted string literal, as the project's own patches write them. */
function quoted(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A name that none of `taken` is: `base`, else `base_`, `base__`, … */
function fresh(base: string, taken: Set<string>): string {
  let name = base;
  while (taken.has(name)) name += '_';
  return name;
}

/** Applies `edits` to `[start, end)` of `text` and returns that range rewritten. */
function rewrite(text: string, start: number, end: number, edits: TextEdit[]): string {
  const e = new Edits();
  for (const x of edits) if (x.start >= start && x.end <= end) e.replace(x.start - start, x.end - start, x.text);
  return e.apply(text.slice(start, end));
}

/** The indentation of the line `offset` is on. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** Moves the lines of `[start, end)` after the first from indentation `from` to `to`, except lines inside a string or template. */
function reindent(v: ModuleVersion, start: number, end: number, from: string, to: string): TextEdit[] {
  const literals = tokenRange(v, start, end).filter((t) => (t.type === 'TemplateLiteral' || t.type === 'StringLiteral') && v.source.slice(t.start, t.end).includes('\n'));
  const edits: TextEdit[] = [];
  for (let i = v.text.indexOf('\n', start); i !== -1 && i < end; i = v.text.indexOf('\n', i + 1)) {
    const line = i + 1;
    if (literals.some((t) => t.start < line && line < t.end)) continue;
    const ws = /^[ \t]*/.exec(v.text.slice(line, end))![0];
    // Tabs become the patch's own indentation step: a file indented with tabs reads as one.
    const kept = (ws.startsWith(from) ? ws.slice(from.length) : ws.trimStart()).replace(/\t/g, INDENT);
    if (line + ws.length < end && v.text[line + ws.length] !== '\n') edits.push({ start: line, end: line + ws.length, text: to + kept });
  }
  return edits;
}

/** The references to rewrite in patch code: scope bindings through `scope`, `this` and `arguments` of a replacement. */
function referenceEdits(code: PatchCode, scopeVar: string, selfVar: string | null, argsVar: string | null): TextEdit[] {
  const edits: TextEdit[] = [];
  for (const ref of code.uses.free) {
    if (code.origins.get(ref.name) !== 'scope') continue;
    const text = `${scopeVar}.${ref.name}`;
    edits.push({ start: ref.node.start, end: ref.node.end, text: ref.shorthand ? `${ref.name}: ${text}` : text });
  }
  if (selfVar) for (const node of code.uses.thisNodes) edits.push({ start: node.start, end: node.end, text: selfVar });
  if (argsVar) for (const node of code.uses.argumentsNodes) edits.push({ start: node.start, end: node.end, text: argsVar });
  return edits;
}

const FUNCTION = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** The `(` and `)` around a function's parameters, or null for an arrow's lone unparenthesised parameter. */
function parens(v: ModuleVersion, fn: Node): { open: number; close: number } | null {
  const tokens = tokenRange(v, fn.start, fn.body.start);
  const open = tokens.findIndex((t) => v.source[t.start] === '(' && t.end - t.start === 1);
  if (open < 0) return null;
  const after = fn.params.length ? fn.params.at(-1).end : tokens[open].end;
  const close = tokens.find((t) => t.start >= after && v.source[t.start] === ')');
  return { open: tokens[open].start, close: close!.start };
}

/**
 * Type annotations that JavaScript patch code needs under `tsc --strict`:
 * `any` for parameters, declarations and catch bindings, optional
 * parameters for nested functions (JavaScript callers leave arguments
 * out), `this: any` for nested functions that read their own `this`, and
 * `any` results so recursion needs no inference. `root` is the function or
 * value the code is; its own parameters are the replacement's business.
 */
function annotations(v: ModuleVersion, root: Node): TextEdit[] {
  const edits: TextEdit[] = [];
  const insert = (at: number, text: string) => edits.push({ start: at, end: at, text });
  // A declaration in a for-in or for-of head cannot carry a type.
  const heads = new Set<Node>();
  const visit = (node: Node, parent: Node | null) => {
    if (FUNCTION.has(node.type) && node !== root) annotateFunction(v, node, parent, insert);
    if (node.type === 'ForInStatement' || node.type === 'ForOfStatement') heads.add(node.left);
    if (node.type === 'VariableDeclaration' && !heads.has(node)) for (const d of node.declarations) insert(d.id.end, ': any');
    if (node.type === 'CatchClause' && node.param) insert(node.param.end, ': any');
    for (const k of Object.keys(node)) {
      if (k === 'loc') continue;
      const value = node[k];
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child.type === 'string') visit(child, node);
      }
    }
  };
  if (FUNCTION.has(root.type)) {
    for (const p of root.params) visit(p, root);
    visit(root.body, root);
  } else {
    visit(root, null);
  }
  return edits;
}

function annotateFunction(v: ModuleVersion, fn: Node, parent: Node | null, insert: (at: number, text: string) => void): void {
  const accessor = parent && (parent.type === 'Property' || parent.type === 'MethodDefinition') ? parent.kind : null;
  const params: Node[] = fn.params;
  params.forEach((p, i) => {
    const later = params.slice(i + 1);
    const optional = accessor !== 'set' && p.type === 'Identifier' && later.every((q) => q.type === 'Identifier' || q.type === 'AssignmentPattern' || q.type === 'RestElement');
    if (p.type === 'RestElement') insert(p.argument.end, ': any[]');
    else if (p.type === 'AssignmentPattern') insert(p.left.end, ': any');
    else insert(p.end, optional ? '?: any' : ': any');
  });
  const around = parens(v, fn);
  if (!around && params.length === 1) {
    insert(params[0].start, '(');
    insert(params[0].end, ')');
  }
  if (fn.type !== 'ArrowFunctionExpression' && accessor === null && !(parent?.type === 'MethodDefinition') && functionUses(fn).thisNodes.length > 0) {
    insert(around!.open + 1, params.length ? 'this: any, ' : 'this: any');
  }
  if (!fn.async && accessor !== 'constructor' && accessor !== 'set') {
    const end = fn.type === 'ArrowFunctionExpression' ? tokenBefore(v, arrowAt(v, fn)).end : around!.close + 1;
    insert(end, ': any');
  }
}

/** The offset of an arrow function's `=>`. */
function arrowAt(v: ModuleVersion, fn: Node): number {
  return tokenRange(v, fn.start, fn.body.start).find((t) => v.source.slice(t.start, t.end) === '=>')!.start;
}

/** The directive prologue's end in a block body: where statements may be inserted without demoting a directive. */
function afterDirectives(body: Node): number {
  let at = body.start + 1;
  for (const s of body.body) {
    if (s.type !== 'ExpressionStatement' || s.directive === undefined) break;
    at = s.end;
  }
  return at;
}

/** The text of a replacement function at indentation `indent`. */
function replacementText(v: ModuleVersion, r: Replacement, scopeVar: string, indent: string): string {
  const { fn, kind } = r.new.found;
  const names = r.uses.names;
  const selfVar = fresh('self', names);
  const argsVar = r.uses.argumentsNodes.length > 0 ? fresh('args', names) : null;
  const edits = [
    ...referenceEdits(r, scopeVar, selfVar, argsVar),
    ...(v.typescript ? [] : annotations(v, fn)),
    ...reindent(v, fn.start, fn.end, indentAt(v.text, fn.start), indent),
  ];
  if (argsVar) {
    const at = afterDirectives(fn.body);
    edits.push({ start: at, end: at, text: `\n${indent}${INDENT}const ${argsVar} = Array.prototype.slice.call(arguments, 1);` });
  }
  const around = parens(v, fn);
  const paramStart = around ? around.open + 1 : fn.params[0].start;
  const paramEnd = around ? around.close : fn.params[0].end;
  let params = rewrite(v.text, paramStart, paramEnd, [...edits, ...(v.typescript ? [] : fn.params.flatMap((p: Node) => rootParam(p)))]);
  params = params.trim() === '' ? '' : `, ${params.trim()}`;
  const self = `${selfVar}: ${r.uses.thisNodes.length > 0 ? 'any' : 'unknown'}${params}`;
  const async = fn.async ? 'async ' : '';
  if (kind === 'generator' || kind === 'async-generator' || argsVar) {
    const star = fn.generator ? '*' : '';
    return `${async}function${star} (${self}) ${rewrite(v.text, fn.body.start, fn.end, edits)}`;
  }
  const bodyStart = fn.body.type === 'BlockStatement' ? fn.body.start : arrowAt(v, fn) + 2;
  return `${async}(${self}) => ${rewrite(v.text, bodyStart, fn.end, edits).trimStart()}`;
}

/** A replacement's own parameter: `any`, required (the engine calls it with what the caller passed). */
function rootParam(p: Node): TextEdit[] {
  if (p.type === 'RestElement') return [{ start: p.argument.end, end: p.argument.end, text: ': any[]' }];
  const at = p.type === 'AssignmentPattern' ? p.left.end : p.end;
  return [{ start: at, end: at, text: ': any' }];
}

/** A carried declaration as a statement of the replacement's factory. */
function carriedText(v: ModuleVersion, c: Carried, scopeVar: string, indent: string): string {
  const { statement, value, name } = c.addition;
  const callable = FUNCTION.has(value.type);
  const edits = [
    ...referenceEdits(c, scopeVar, null, null),
    ...reindent(v, statement.start, statement.end, indentAt(v.text, statement.start), indent),
  ];
  if (!v.typescript) {
    edits.push(...annotations(v, value));
    // A carried function is called by JavaScript, like the functions nested in patch code.
    if (callable) annotateFunction(v, value, null, (at, text) => edits.push({ start: at, end: at, text }));
  }
  if (value === statement) return rewrite(v.text, statement.start, statement.end, edits);
  const type = v.typescript || callable ? '' : ': any';
  return `${statement.kind} ${name}${type} = ${rewrite(v.text, value.start, value.end, edits)};`;
}

interface ObjectText {
  module: string;
  funcs: { key: string; text: string }[];
  callbacks: string | null;
}

/** One module's interface and func entries. */
function moduleText(change: ModuleChange, scopeType: string): { declarations: string[]; object: ObjectText } {
  const v = change.next;
  // Each binding, with the once-run scope whose table it is reached through.
  const scopeNames = new Map<string, number>();
  for (const r of change.replacements) {
    for (const code of [r, ...r.carried]) {
      for (const [name, origin] of code.origins) if (origin === 'scope' && !scopeNames.has(name)) scopeNames.set(name, r.new.found.scope);
    }
  }
  const declarations: string[] = [];
  if (scopeNames.size > 0) {
    const members = [...scopeNames].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, scope]) => `${INDENT}${scopeMember(v, scope, name)}`);
    declarations.push(`/** The bindings of ${change.id} that the replacements reach. */\ninterface ${scopeType} {\n${members.join('\n')}\n}`);
  }
  // A module whose patch code reaches no binding has no scope type; its factories take the untyped table.
  const typeArgument = scopeNames.size > 0 ? `<${scopeType}>` : '';
  const funcs = change.replacements.map((r) => ({ key: `${r.old.symbol.name},${r.old.symbol.sympos}`, text: funcText(change, r, typeArgument) }));
  return { declarations, object: { module: change.id, funcs, callbacks: null } };
}

function funcText(change: ModuleChange, r: Replacement, typeArgument: string): string {
  const v = change.next;
  const indent = INDENT.repeat(5);
  const scoped = r.carried.length > 0 || [...r.origins.values()].includes('scope') || r.carried.some((c) => [...c.origins.values()].includes('scope'));
  const taken = new Set([...r.uses.names, ...r.carried.flatMap((c) => [...c.uses.names])]);
  const scopeVar = fresh('scope', taken);
  const sympos = change.old.analysis.plans.filter((p) => p.symbol.name === r.old.symbol.name).length > 1 ? `${indent}oldSympos: ${r.old.symbol.sympos},\n` : '';
  let newFunc: string;
  if (r.carried.length > 0) {
    const inner = indent + INDENT;
    const carried = r.carried.map((c) => `${inner}${carriedText(v, c, scopeVar, inner)}\n`).join('');
    newFunc = `withScope${typeArgument}((${scopeVar}) => {\n${carried}${inner}return ${replacementText(v, r, scopeVar, inner)};\n${indent}})`;
  } else if (scoped) {
    newFunc = `withScope${typeArgument}((${scopeVar}) => ${replacementText(v, r, scopeVar, indent)})`;
  } else {
    newFunc = replacementText(v, r, scopeVar, indent);
  }
  return `${indent}// ${v.id}:${lineAt(v, r.new.found.fn.start)}\n${indent}oldName: ${quoted(r.old.symbol.name)},\n${sympos}` +
    `${indent}oldHash: '${r.old.symbol.hash}',\n${indent}newFunc: ${newFunc},`;
}

/** `lib/parse.js` → `ParseScope`; a second `parse.js` → `ParseScope2`. */
function scopeTypeName(id: string, taken: Set<string>): string {
  const base = path.posix.basename(id).replace(/\.[^.]*$/, '').replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _s, c: string) => c.toUpperCase()).replace(/^[^A-Za-z]/, 'M$&');
  let name = `${base}Scope`;
  for (let n = 2; taken.has(name); n++) name = `${base}Scope${n}`;
  taken.add(name);
  return name;
}

/** The patch module's text. */
export function emitPatch(changes: ModuleChange[], options: EmitOptions): string {
  const base = options.base;
  const taken = new Set<string>(base ? base.preamble.join('\n').match(/[A-Za-z_$][\w$]*/g) ?? [] : []);
  const declarations: string[] = [];
  const objects: ObjectText[] = base ? base.objects.map((o) => ({ ...o, funcs: [...o.funcs] })) : [];
  for (const change of changes) {
    const made = moduleText(change, scopeTypeName(change.id, taken));
    declarations.push(...made.declarations);
    const object = objects.find((o) => o.module === change.id);
    if (!object) {
      objects.push(made.object);
      continue;
    }
    // The change's version of a function the base also replaces wins: it was built from the tree.
    object.funcs = [...object.funcs.filter((f) => !made.object.funcs.some((m) => m.key === f.key)), ...made.object.funcs];
  }
  const uses = (name: string) => objects.some((o) => o.funcs.some((f) => f.text.includes(`${name}(`) || f.text.includes(`${name}<`)));
  const imports = new Set(['definePatch', ...(base?.imports ?? [])]);
  if (uses('withScope')) imports.add('withScope');
  const objectTexts = objects.map((o) => {
    const funcs = o.funcs.map((f) => `${INDENT.repeat(4)}{\n${f.text}\n${INDENT.repeat(4)}},`).join('\n');
    const callbacks = o.callbacks ? `${INDENT.repeat(3)}callbacks: ${o.callbacks},\n` : '';
    return `${INDENT.repeat(2)}{\n${INDENT.repeat(3)}module: ${quoted(o.module)},\n${INDENT.repeat(3)}funcs: [\n${funcs}\n${INDENT.repeat(3)}],\n${callbacks}${INDENT.repeat(2)}},`;
  });
  const lines = [
    ...options.header.map((l) => `// ${l}`.trimEnd()),
    `import { ${[...imports].sort().join(', ')} } from 'livepatch';`,
    '',
    ...[...(base?.preamble ?? []), ...declarations].flatMap((d) => [d, '']),
    'export default definePatch({',
    `${INDENT}name: ${quoted(options.name)},`,
    ...(options.replace ? [`${INDENT}replace: true,`] : []),
    ...(base?.states ? [`${INDENT}states: ${base.states},`] : []),
    `${INDENT}objects: [`,
    ...objectTexts,
    `${INDENT}],`,
    '});',
    '',
  ];
  return lines.join('\n');
}
