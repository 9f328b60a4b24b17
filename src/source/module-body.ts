/**
 * An ES module as the body of an async function, so that livepatch can run
 * a patch module itself instead of handing it to Node's ESM loader, which
 * keeps every module it ever loaded. `moduleFunction` rewrites the module's
 * imports and exports into calls on a `ModuleLinks` object the function
 * receives; everything else is left where it was.
 *
 *     import { definePatch } from 'livepatch';     export default definePatch({ … });
 *
 * becomes, on the module's first line,
 *
 *     (async function (__lpm) {'use strict';let __lpm_default, __lpm0;__lpm.export({ "default": () => __lpm_default });
 *     __lpm0 = await __lpm.load("livepatch");const definePatch = __lpm0["definePatch"];
 *                                                    __lpm_default = definePatch({ … });;
 *     })
 *
 * What the module's imports declare is bound once, when its imports have
 * loaded: a function a cyclic import exports is there, a `let` the
 * exporter assigns later is not seen again. Exports are getters, so the
 * importer sees their current value. No newline is added or removed before
 * the end, so every line of the module stays where it was.
 */
import { Edits } from './edits.js';
import { parseSource, type Node } from './parse.js';
import { patternNames } from './symbols.js';

/** What a module run by `moduleFunction` calls for its imports and exports. */
export interface ModuleLinks {
  /** The namespace of an imported module: static imports and `import()` alike; `options` as `import()` takes them. */
  load(specifier: string, options?: unknown): Promise<object>;
  /** `import.meta`. */
  readonly meta: object;
  /** Defines exports as getters of the module's bindings. */
  export(getters: Record<string, () => unknown>): void;
  /** `export * from`: every export of `namespace` but `default`, that the module does not export itself. */
  exportAll(namespace: object): void;
}

/** The parameter the module function receives its links in, and the prefix of the names it adds. */
const LINKS = '__lpm';

/** How an imported or exported name reads from a namespace. */
const member = (namespace: string, name: string) => `${namespace}[${JSON.stringify(name)}]`;
const nameOf = (node: Node) => (node.type === 'Literal' ? String(node.value) : node.name as string);

class ModuleRewrite {
  readonly edits = new Edits();
  /** `__lpmN = await __lpm.load(…)`, one per import request, in source order. */
  readonly loads: string[] = [];
  /** `const local = …`, one per imported binding. */
  readonly bindings: string[] = [];
  /** Export name → the expression its getter returns. */
  readonly exports = new Map<string, string>();
  readonly stars: string[] = [];
  hasDefault = false;

  constructor(readonly source: string) {}

  /** Requests a module; returns the name its namespace is bound to. */
  request(node: Node): string {
    const namespace = `${LINKS}${this.loads.length}`;
    const attributes = (node.attributes ?? []) as Node[];
    const options = attributes.length === 0
      ? ''
      : `, { with: { ${attributes.map((a) => `${JSON.stringify(nameOf(a.key))}: ${JSON.stringify(a.value.value)}`).join(', ')} } }`;
    this.loads.push(`${namespace} = await ${LINKS}.load(${JSON.stringify(node.source.value)}${options});`);
    return namespace;
  }

  /** Removes a statement, keeping its newlines. */
  remove(node: Node): void {
    this.edits.replace(node.start, node.end, this.source.slice(node.start, node.end).replace(/[^\n]/g, ''));
  }

  statement(node: Node): void {
    switch (node.type) {
      case 'ImportDeclaration': return this.importDeclaration(node);
      case 'ExportNamedDeclaration': return this.exportNamed(node);
      case 'ExportDefaultDeclaration': return this.exportDefault(node);
      case 'ExportAllDeclaration': return this.exportAll(node);
    }
  }

  importDeclaration(node: Node): void {
    const namespace = this.request(node);
    for (const spec of node.specifiers as Node[]) {
      const value = spec.type === 'ImportNamespaceSpecifier' ? namespace
        : member(namespace, spec.type === 'ImportDefaultSpecifier' ? 'default' : nameOf(spec.imported));
      this.bindings.push(`const ${spec.local.name} = ${value};`);
    }
    this.remove(node);
  }

  exportNamed(node: Node): void {
    if (node.declaration) {
      const names: string[] = [];
      const declaration = node.declaration as Node;
      if (declaration.type === 'VariableDeclaration') for (const d of declaration.declarations) patternNames(d.id, names);
      else names.push(declaration.id.name);
      for (const name of names) this.exports.set(name, name);
      this.edits.replace(node.start, declaration.start, '');
      return;
    }
    const namespace = node.source ? this.request(node) : null;
    for (const spec of node.specifiers as Node[]) {
      const local = nameOf(spec.local);
      this.exports.set(nameOf(spec.exported), namespace ? member(namespace, local) : local);
    }
    this.remove(node);
  }

  exportDefault(node: Node): void {
    const declaration = node.declaration as Node;
    const named = (declaration.type === 'FunctionDeclaration' || declaration.type === 'ClassDeclaration') && declaration.id;
    if (named) {
      this.exports.set('default', declaration.id.name);
      this.edits.replace(node.start, declaration.start, '');
      return;
    }
    this.hasDefault = true;
    this.exports.set('default', `${LINKS}_default`);
    this.edits.replace(node.start, declaration.start, `${LINKS}_default = `);
    this.edits.insert(node.end, ';');
  }

  exportAll(node: Node): void {
    const namespace = this.request(node);
    if (node.exported) this.exports.set(nameOf(node.exported), namespace);
    else this.stars.push(`${LINKS}.exportAll(${namespace});`);
    this.remove(node);
  }

  /** `import(…)` loads through the links; `import.meta` is theirs. */
  expression(node: Node): void {
    if (node.type === 'ImportExpression') this.edits.replace(node.start, node.start + 'import'.length, `${LINKS}.load`);
    else if (node.type === 'MetaProperty' && node.meta.name === 'import') this.edits.replace(node.start, node.end, `${LINKS}.meta`);
  }

  /** What goes before the module's first line: declarations, exports, then the loads and the bindings they give. */
  prologue(): string {
    const names = [...(this.hasDefault ? [`${LINKS}_default`] : []), ...this.loads.map((_, i) => `${LINKS}${i}`)];
    const getters = [...this.exports].map(([name, value]) => `${JSON.stringify(name)}: () => ${value}`);
    return [
      "'use strict';",
      names.length > 0 ? `let ${names.join(', ')};` : '',
      getters.length > 0 ? `${LINKS}.export({ ${getters.join(', ')} });` : '',
      ...this.loads,
      ...this.stars,
      ...this.bindings,
    ].join('');
  }
}

/** Calls `visit` on every node below `node`. */
function walk(node: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit);
    return;
  }
  if (node === null || typeof node !== 'object' || typeof (node as Node).type !== 'string') return;
  visit(node as Node);
  for (const value of Object.values(node)) if (value !== null && typeof value === 'object') walk(value, visit);
}

/**
 * The source of an async function expression, `(async function (__lpm) {…})`,
 * that runs the ES module `source` with the links it is called with and
 * resolves once the module's body (its top-level awaits included) has run.
 * Throws the parser's SyntaxError for a module that does not parse.
 */
export function moduleFunction(source: string): string {
  // A hashbang line is allowed only at the start of a module; it stays a comment.
  const text = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const program = parseSource(text, 'esm');
  const rewrite = new ModuleRewrite(text);
  for (const statement of program.body as Node[]) rewrite.statement(statement);
  walk(program.body, (node) => rewrite.expression(node));
  return `(async function (${LINKS}) {${rewrite.prologue()}${rewrite.edits.apply(text)}\n})`;
}
