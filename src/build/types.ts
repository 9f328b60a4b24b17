/**
 * The types of a patch's scope tables: for each binding the patch code
 * reaches through `withScope`, a member typed from its declaration in the
 * module. JavaScript declares no types, so what the declaration shows is
 * what the member says: a function's parameters (each optional, as
 * JavaScript callers may leave them out), a literal's primitive type,
 * `readonly` where the module cannot assign the binding, and `any` for the
 * rest.
 */
import type { Node } from '../source/parse.js';
import type { ModuleVersion } from './module.js';
import { functionUses } from './scope.js';

const WRAPPER: Record<string, string> = {
  require: 'readonly require: (id: string) => any;',
  module: 'readonly module: any;',
  exports: 'exports: any;',
  __filename: 'readonly __filename: string;',
  __dirname: 'readonly __dirname: string;',
};

/** What a declaration of `name` in once-run scope `scope` says of it, or null when no statement of the scope declares it. */
function declarationOf(v: ModuleVersion, scope: number, name: string): { node: Node; kind: string; init: Node | null } | null {
  const visit = (statements: Node[]): ReturnType<typeof declarationOf> => {
    for (const raw of statements) {
      const s = (raw.type === 'ExportNamedDeclaration' || raw.type === 'ExportDefaultDeclaration') && raw.declaration ? raw.declaration : raw;
      if ((s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration') && s.id?.name === name) return { node: s, kind: s.type, init: s };
      if (s.type === 'VariableDeclaration') {
        const d = s.declarations.find((x: Node) => x.id.type === 'Identifier' && x.id.name === name);
        if (d) return { node: d, kind: s.kind, init: d.init };
      }
      if (s.type === 'ImportDeclaration' && s.specifiers.some((x: Node) => x.local.name === name)) return { node: s, kind: 'import', init: null };
      const inner = s.type === 'BlockStatement' ? s.body : s.type === 'IfStatement' ? [s.consequent, s.alternate].filter(Boolean) : s.type === 'TryStatement' ? [s.block] : null;
      const found = inner ? visit(inner) : null;
      if (found) return found;
    }
    return null;
  };
  return visit(v.statements[scope]);
}

/** A function's call signature as a method member: `name(a?: any, b?: any): any`. */
function signature(name: string, fn: Node): string {
  const params: string[] = fn.params.map((p: Node, i: number) => {
    if (p.type === 'RestElement') return `...${p.argument.type === 'Identifier' ? p.argument.name : `rest${i}`}: any[]`;
    const id = p.type === 'Identifier' ? p.name : p.type === 'AssignmentPattern' && p.left.type === 'Identifier' ? p.left.name : `arg${i}`;
    return `${id}?: any`;
  });
  if (fn.type !== 'ArrowFunctionExpression' && fn.params.at(-1)?.type !== 'RestElement' && functionUses(fn).argumentsNodes.length > 0) params.push('...rest: any[]');
  let result = 'any';
  if (fn.async) result = fn.generator ? 'AsyncGenerator<any, any, any>' : 'Promise<any>';
  else if (fn.generator) result = 'Generator<any, any, any>';
  return `${name}(${params.join(', ')}): ${result};`;
}

function literalType(init: Node | null): string {
  if (init?.type === 'Literal') {
    if (init.regex) return 'RegExp';
    if (init.value === null) return 'any';
    return typeof init.value === 'bigint' ? 'bigint' : typeof init.value;
  }
  if (init?.type === 'TemplateLiteral') return 'string';
  return 'any';
}

/** The member of a scope table's type for binding `name`. */
export function scopeMember(v: ModuleVersion, scope: number, name: string): string {
  const decl = declarationOf(v, scope, name);
  if (!decl) return scope === 0 && v.format === 'cjs' && WRAPPER[name] ? WRAPPER[name] : `${name}: any;`;
  const init = decl.init;
  if (init && (init.type === 'FunctionDeclaration' || init.type === 'FunctionExpression' || init.type === 'ArrowFunctionExpression')) return signature(name, init);
  if (decl.kind === 'ClassDeclaration' || decl.kind === 'import') return `readonly ${name}: any;`;
  return `${decl.kind === 'const' ? 'readonly ' : ''}${name}: ${literalType(init)};`;
}
