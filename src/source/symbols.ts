/**
 * Symbol discovery: the kallsyms analog.
 *
 * A function is instrumentable when its enclosing scope runs once per module
 * instance: the module body, and the bodies of top-level IIFEs (bundles, UMD
 * wrappers, TypeScript's ES5 class and namespace patterns). Inside those
 * scopes we name function declarations, function and arrow expressions bound
 * to a name, class members and the methods of object literals bound to a
 * name. Functions nested inside other functions are part of their enclosing
 * function's body and get no symbol of their own.
 */
import type { ModuleFormat, SymbolKind } from '../runtime/abi.js';
import { parseSource, type Node } from './parse.js';

export interface FoundFunction {
  name: string;
  /** FunctionDeclaration, FunctionExpression or ArrowFunctionExpression. */
  fn: Node;
  kind: SymbolKind;
  scope: number;
}

export interface FoundScope {
  /** The IIFE function whose body is this scope; null for the module body. */
  fn: Node | null;
  bindings: string[];
}

export interface ScanResult {
  program: Node;
  functions: FoundFunction[];
  scopes: FoundScope[];
}

const CJS_WRAPPER_BINDINGS = ['exports', 'require', 'module', '__filename', '__dirname'];

export function scanSource(source: string, format: ModuleFormat): ScanResult {
  const program = parseSource(source, format);
  const scanner = new Scanner();
  scanner.scanScope(program.body, null, format === 'cjs' ? CJS_WRAPPER_BINDINGS : []);
  // Discovery follows statement order, but `a = b = function` and class
  // members can interleave; symbol positions are defined by source order.
  scanner.functions.sort((x, y) => x.fn.start - y.fn.start);
  return { program, functions: scanner.functions, scopes: scanner.scopes };
}

class Scanner {
  functions: FoundFunction[] = [];
  scopes: FoundScope[] = [];

  scanScope(statements: Node[], fn: Node | null, implicit: string[]): void {
    const index = this.scopes.length;
    const bindings = [...implicit];
    if (fn) for (const param of fn.params) patternNames(param, bindings);
    collectDeclarations(statements, bindings, true);
    this.scopes.push({ fn, bindings: [...new Set(bindings)] });
    for (const statement of statements) this.statement(statement, index);
  }

  statement(node: Node, scope: number): void {
    switch (node.type) {
      case 'FunctionDeclaration':
        this.func(node.id ? node.id.name : 'default', node, scope);
        break;
      case 'ClassDeclaration':
        this.klass(node.id ? node.id.name : 'default', node, scope);
        break;
      case 'VariableDeclaration':
        for (const decl of node.declarations) {
          if (!decl.init) continue;
          if (decl.id.type === 'Identifier') this.value(decl.id.name, decl.init, scope);
          else this.iife(decl.init);
        }
        break;
      case 'ExpressionStatement':
        this.expression(node.expression, scope);
        break;
      case 'ExportNamedDeclaration':
        if (node.declaration) this.statement(node.declaration, scope);
        break;
      case 'ExportDefaultDeclaration': {
        const decl = node.declaration;
        if (decl.type === 'FunctionDeclaration' || decl.type === 'ClassDeclaration') this.statement(decl, scope);
        else this.value('default', decl, scope);
        break;
      }
      // Blocks at once-run level run at most once too.
      case 'BlockStatement':
        for (const s of node.body) this.statement(s, scope);
        break;
      case 'IfStatement':
        this.statement(node.consequent, scope);
        if (node.alternate) this.statement(node.alternate, scope);
        break;
      case 'TryStatement':
        this.statement(node.block, scope);
        if (node.handler) this.statement(node.handler.body, scope);
        if (node.finalizer) this.statement(node.finalizer, scope);
        break;
      case 'LabeledStatement':
        this.statement(node.body, scope);
        break;
      case 'ReturnStatement':
        // `return function () {…}()` and UMD factories returning an IIFE.
        if (node.argument) this.iife(node.argument);
        break;
    }
  }

  expression(node: Node, scope: number): void {
    if (node.type === 'SequenceExpression') {
      for (const e of node.expressions) this.expression(e, scope);
    } else if (node.type === 'AssignmentExpression' && node.operator === '=') {
      const name = memberName(node.left);
      if (name !== null) this.value(name, node.right, scope);
      else this.iife(node.right);
    } else {
      this.iife(node);
    }
  }

  /** `v` is the value bound to `name`. */
  value(name: string, v: Node, scope: number): void {
    switch (v.type) {
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.func(name, v, scope);
        break;
      case 'ClassExpression':
        this.klass(name, v, scope);
        break;
      case 'ObjectExpression':
        this.object(name, v, scope);
        break;
      case 'AssignmentExpression':
        // `module.exports = exports.f = function () {}` takes the inner name.
        this.expression(v, scope);
        break;
      default:
        this.iife(v);
    }
  }

  func(name: string, fn: Node, scope: number, accessor?: 'getter' | 'setter' | 'constructor'): void {
    let kind: SymbolKind;
    if (accessor) kind = accessor;
    else if (fn.async) kind = fn.generator ? 'async-generator' : 'async';
    else kind = fn.generator ? 'generator' : 'sync';
    this.functions.push({ name, fn, kind, scope });
  }

  klass(name: string, node: Node, scope: number): void {
    for (const member of node.body.body) {
      if (member.type !== 'MethodDefinition') continue;
      if (member.kind === 'constructor') {
        this.func(name, member.value, scope, 'constructor');
        continue;
      }
      const key = propertyKey(member);
      if (key === null) continue;
      const base = member.static ? name : `${name}.prototype`;
      if (member.kind === 'get') this.func(`${base}${key}:get`, member.value, scope, 'getter');
      else if (member.kind === 'set') this.func(`${base}${key}:set`, member.value, scope, 'setter');
      else this.func(base + key, member.value, scope);
    }
  }

  object(name: string, node: Node, scope: number): void {
    for (const prop of node.properties) {
      if (prop.type !== 'Property') continue;
      const key = propertyKey(prop);
      if (key === null) continue;
      if (prop.kind === 'get') this.func(`${name}${key}:get`, prop.value, scope, 'getter');
      else if (prop.kind === 'set') this.func(`${name}${key}:set`, prop.value, scope, 'setter');
      else this.value(name + key, prop.value, scope);
    }
  }

  /** Finds the once-run scopes of an IIFE expression: `(function () {…})()`, `!function(){}()`, UMD. */
  iife(node: Node): void {
    while (node.type === 'UnaryExpression') node = node.argument;
    if (node.type !== 'CallExpression' && node.type !== 'NewExpression') return;
    let callee = node.callee;
    // `(function () {…}).call(this)`
    if (callee.type === 'MemberExpression' && !callee.computed &&
        (callee.property.name === 'call' || callee.property.name === 'apply')) {
      callee = callee.object;
    }
    if (!isFunctionNode(callee)) return;
    if (callee.body.type === 'BlockStatement') this.scanScope(callee.body.body, callee, []);
    // UMD: `(function (root, factory) {…})(this, function () {…})` calls the factory once.
    for (const arg of node.arguments) {
      if (isFunctionNode(arg) && arg.body.type === 'BlockStatement') this.scanScope(arg.body.body, arg, []);
    }
  }
}

function isFunctionNode(node: Node | null | undefined): node is Node {
  return !!node && (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression');
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `.name`, `.#name`, `["x-y"]`, `[0]` or `[Symbol.iterator]`; null for keys with no stable name. */
function propertyKey(member: Node): string | null {
  const key = member.key;
  if (!member.computed) {
    if (key.type === 'Identifier') return `.${key.name}`;
    if (key.type === 'PrivateIdentifier') return `.#${key.name}`;
  }
  if (key.type === 'Literal') {
    if (typeof key.value === 'string') return IDENTIFIER.test(key.value) ? `.${key.value}` : `[${JSON.stringify(key.value)}]`;
    if (typeof key.value === 'number') return `[${key.value}]`;
    return null;
  }
  if (member.computed) {
    const name = memberName(key);
    return name === null ? null : `[${name}]`;
  }
  return null;
}

/** `a`, `a.b.c`, `module.exports.f`, `this.x`; null when the target has no static name. */
function memberName(node: Node): string | null {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'ThisExpression') return 'this';
  if (node.type !== 'MemberExpression') return null;
  const object = memberName(node.object);
  if (object === null) return null;
  const key = propertyKey({ key: node.property, computed: node.computed } as unknown as Node);
  return key === null ? null : object + key;
}

/** Appends the names a binding pattern declares. */
export function patternNames(node: Node, out: string[]): void {
  switch (node.type) {
    case 'Identifier':
      out.push(node.name);
      break;
    case 'AssignmentPattern':
      patternNames(node.left, out);
      break;
    case 'RestElement':
      patternNames(node.argument, out);
      break;
    case 'ArrayPattern':
      for (const el of node.elements) if (el) patternNames(el, out);
      break;
    case 'ObjectPattern':
      for (const prop of node.properties) patternNames(prop.type === 'RestElement' ? prop : prop.value, out);
      break;
  }
}

/**
 * Appends the names a statement list declares in its enclosing function
 * scope: every `var` (hoisted out of blocks), and at the top level also
 * `let`, `const`, functions, classes and imports.
 */
export function collectDeclarations(statements: Node[], out: string[], topLevel: boolean): void {
  for (const node of statements) collectDeclaration(node, out, topLevel);
}

function collectDeclaration(node: Node | null, out: string[], topLevel: boolean): void {
  if (!node) return;
  switch (node.type) {
    case 'VariableDeclaration':
      if (topLevel || node.kind === 'var') for (const d of node.declarations) patternNames(d.id, out);
      break;
    case 'FunctionDeclaration':
    case 'ClassDeclaration':
      if (topLevel && node.id) out.push(node.id.name);
      break;
    case 'ImportDeclaration':
      for (const spec of node.specifiers) out.push(spec.local.name);
      break;
    case 'ExportNamedDeclaration':
    case 'ExportDefaultDeclaration':
      collectDeclaration(node.declaration, out, topLevel);
      break;
    case 'BlockStatement':
      collectDeclarations(node.body, out, false);
      break;
    case 'IfStatement':
      collectDeclaration(node.consequent, out, false);
      collectDeclaration(node.alternate, out, false);
      break;
    case 'TryStatement':
      collectDeclaration(node.block, out, false);
      collectDeclaration(node.handler?.body ?? null, out, false);
      collectDeclaration(node.finalizer, out, false);
      break;
    case 'ForStatement':
      collectDeclaration(node.init, out, false);
      collectDeclaration(node.body, out, false);
      break;
    case 'ForInStatement':
    case 'ForOfStatement':
      collectDeclaration(node.left, out, false);
      collectDeclaration(node.body, out, false);
      break;
    case 'WhileStatement':
    case 'DoWhileStatement':
    case 'LabeledStatement':
      collectDeclaration(node.body, out, false);
      break;
    case 'SwitchStatement':
      for (const c of node.cases) collectDeclarations(c.consequent, out, false);
      break;
  }
}
