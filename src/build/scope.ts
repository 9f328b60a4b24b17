/**
 * What a function refers to outside itself, the analog of the relocations
 * create-diff-object finds in a changed function: every identifier of the
 * function is resolved against the scopes inside it (parameters, `var`,
 * `let`, `const`, functions, classes, catch clauses), and what is left is
 * free, to be reached through the module's scope table or left to the
 * globals. It also finds what a replacement written outside the function
 * must change or cannot keep: its own `this` and `arguments`, and `super`,
 * `new.target`, private names and `with`.
 */
import type { Node } from '../source/parse.js';
import { collectDeclarations, patternNames } from '../source/symbols.js';

/** An identifier the function reads or writes that nothing inside it declares. */
export interface FreeReference {
  name: string;
  node: Node;
  /** `{ x }`: the identifier is both the key and the value of an object literal property. */
  shorthand: boolean;
  /** Assigned, incremented or a destructuring target. */
  write: boolean;
}

/** A construct the replacement cannot keep once it is moved out of the function and its class. */
export interface Construct {
  what: 'super' | 'new.target' | 'a private name' | 'with';
  node: Node;
}

export interface FunctionUses {
  free: FreeReference[];
  /** `this` of the function itself (arrows inside see the same one). */
  thisNodes: Node[];
  /** `arguments` of the function itself. */
  argumentsNodes: Node[];
  constructs: Construct[];
  /** Every identifier name that appears in the function, to choose names that collide with none. */
  names: Set<string>;
}

class Scope {
  readonly names = new Set<string>();
  constructor(readonly parent: Scope | null) {}

  has(name: string): boolean {
    for (let s: Scope | null = this; s; s = s.parent) if (s.names.has(name)) return true;
    return false;
  }
}

const SKIP = new Set(['type', 'start', 'end', 'loc', 'range']);

/** The names `statements` declare in their own block: `let`, `const`, classes and functions. */
function blockDeclarations(statements: Node[], scope: Scope): void {
  for (const s of statements) {
    if (s.type === 'VariableDeclaration' && s.kind !== 'var') for (const d of s.declarations) declare(d.id, scope);
    else if ((s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration') && s.id) scope.names.add(s.id.name);
  }
}

function declare(pattern: Node, scope: Scope): void {
  const out: string[] = [];
  patternNames(pattern, out);
  for (const name of out) scope.names.add(name);
}

/**
 * Walks one function. `own` counts the non-arrow functions entered below
 * the one analysed: `this`, `arguments`, `super` and `new.target` at depth 0
 * are its own.
 */
class Walker {
  readonly uses: FunctionUses = { free: [], thisNodes: [], argumentsNodes: [], constructs: [], names: new Set() };
  private own = 0;
  /** Private names declared by classes inside the function. */
  private privates: Set<string>[] = [];

  /** The analysed function is an arrow: it has no `arguments` of its own. */
  constructor(private readonly arrow: boolean) {}

  function(fn: Node, outer: Scope, root: boolean): void {
    const scope = new Scope(outer);
    // A function expression's own name is bound inside it, except for the
    // root: its replacement has no such name, so the name stays free.
    if (fn.type === 'FunctionExpression' && fn.id && !root) scope.names.add(fn.id.name);
    const inner = new Scope(scope);
    for (const p of fn.params) declare(p, inner);
    if (fn.body.type === 'BlockStatement') {
      const hoisted: string[] = [];
      collectDeclarations(fn.body.body, hoisted, true);
      for (const name of hoisted) inner.names.add(name);
    }
    const arrow = fn.type === 'ArrowFunctionExpression';
    if (!arrow && !root) this.own++;
    for (const p of fn.params) this.pattern(p, inner, false);
    if (fn.body.type === 'BlockStatement') this.statements(fn.body.body, inner, false);
    else this.node(fn.body, inner);
    if (!arrow && !root) this.own--;
  }

  statements(statements: Node[], scope: Scope, block: boolean): void {
    let inner = scope;
    if (block) {
      inner = new Scope(scope);
      blockDeclarations(statements, inner);
    }
    for (const s of statements) this.node(s, inner);
  }

  /** A binding or assignment target: identifiers in it are written (`assign`) or declared. */
  pattern(node: Node, scope: Scope, assign: boolean): void {
    switch (node.type) {
      case 'Identifier':
        this.uses.names.add(node.name);
        if (assign) this.reference(node, scope, true, false);
        break;
      case 'ObjectPattern':
        for (const prop of node.properties) {
          if (prop.type === 'RestElement') this.pattern(prop.argument, scope, assign);
          else {
            if (prop.computed) this.node(prop.key, scope);
            this.pattern(prop.value, scope, assign);
          }
        }
        break;
      case 'ArrayPattern':
        for (const el of node.elements) if (el) this.pattern(el, scope, assign);
        break;
      case 'AssignmentPattern':
        this.pattern(node.left, scope, assign);
        this.node(node.right, scope);
        break;
      case 'RestElement':
        this.pattern(node.argument, scope, assign);
        break;
      default:
        // A member expression as an assignment target.
        this.node(node, scope);
    }
  }

  reference(node: Node, scope: Scope, write: boolean, shorthand: boolean): void {
    const { name } = node;
    this.uses.names.add(name);
    if (scope.has(name)) return;
    if (name === 'arguments' && this.own > 0) return;
    if (name === 'arguments' && !this.arrow) {
      this.uses.argumentsNodes.push(node);
      return;
    }
    this.uses.free.push({ name, node, write, shorthand });
  }

  node(node: Node | null, scope: Scope): void {
    if (!node || typeof node.type !== 'string') return;
    switch (node.type) {
      case 'Identifier':
        this.reference(node, scope, false, false);
        return;
      case 'ThisExpression':
        if (this.own === 0) this.uses.thisNodes.push(node);
        return;
      case 'Super':
        if (this.own === 0) this.uses.constructs.push({ what: 'super', node });
        return;
      case 'MetaProperty':
        if (node.meta.name === 'new' && this.own === 0) this.uses.constructs.push({ what: 'new.target', node });
        return;
      case 'PrivateIdentifier':
        if (!this.privates.some((set) => set.has(node.name))) this.uses.constructs.push({ what: 'a private name', node });
        return;
      case 'WithStatement':
        this.uses.constructs.push({ what: 'with', node });
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.function(node, scope, false);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        this.klass(node, scope);
        return;
      case 'VariableDeclaration':
        for (const d of node.declarations) {
          this.pattern(d.id, scope, false);
          this.node(d.init, scope);
        }
        return;
      case 'AssignmentExpression':
        this.pattern(node.left, scope, true);
        this.node(node.right, scope);
        return;
      case 'UpdateExpression':
        this.pattern(node.argument, scope, true);
        return;
      case 'MemberExpression':
        this.node(node.object, scope);
        if (node.computed || node.property.type === 'PrivateIdentifier') this.node(node.property, scope);
        return;
      case 'Property':
        if (node.computed) this.node(node.key, scope);
        if (node.shorthand && node.value.type === 'Identifier') this.reference(node.value, scope, false, true);
        else this.node(node.value, scope);
        return;
      case 'LabeledStatement':
        this.node(node.body, scope);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
        return;
      case 'BlockStatement':
      case 'StaticBlock':
        this.statements(node.body, scope, true);
        return;
      case 'SwitchStatement': {
        this.node(node.discriminant, scope);
        const inner = new Scope(scope);
        for (const c of node.cases) blockDeclarations(c.consequent, inner);
        for (const c of node.cases) {
          this.node(c.test, inner);
          for (const s of c.consequent) this.node(s, inner);
        }
        return;
      }
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
        this.loop(node, scope);
        return;
      case 'CatchClause': {
        const inner = new Scope(scope);
        if (node.param) {
          declare(node.param, inner);
          this.pattern(node.param, inner, false);
        }
        this.node(node.body, inner);
        return;
      }
    }
    this.children(node, scope);
  }

  private loop(node: Node, scope: Scope): void {
    const inner = new Scope(scope);
    const head = node.type === 'ForStatement' ? node.init : node.left;
    if (head?.type === 'VariableDeclaration' && head.kind !== 'var') for (const d of head.declarations) declare(d.id, inner);
    if (node.type === 'ForStatement') {
      this.node(node.init, inner);
      this.node(node.test, inner);
      this.node(node.update, inner);
    } else {
      if (head.type === 'VariableDeclaration') this.node(head, inner);
      else this.pattern(head, inner, true);
      this.node(node.right, inner);
    }
    this.node(node.body, inner);
  }

  private klass(node: Node, scope: Scope): void {
    this.node(node.superClass, scope);
    const inner = new Scope(scope);
    if (node.id) inner.names.add(node.id.name);
    const privates = new Set<string>();
    for (const member of node.body.body) if (member.key?.type === 'PrivateIdentifier') privates.add(member.key.name);
    this.privates.push(privates);
    // Members are functions with their own `this`; field initializers and static blocks too.
    this.own++;
    for (const member of node.body.body) {
      if (member.computed) this.node(member.key, inner);
      if (member.type === 'StaticBlock') this.node(member, inner);
      else this.node(member.value, inner);
    }
    this.own--;
    this.privates.pop();
  }

  private children(node: Node, scope: Scope): void {
    for (const key of Object.keys(node)) {
      if (SKIP.has(key)) continue;
      const value = node[key];
      if (Array.isArray(value)) for (const child of value) this.node(child, scope);
      else if (value !== null && typeof value === 'object') this.node(value, scope);
    }
  }
}

/**
 * The free variables of function `fn`, and its own `this`, `arguments` and
 * the constructs a replacement cannot keep. A nested function is part of
 * its enclosing function: what it refers to outside both is free too.
 */
export function functionUses(fn: Node): FunctionUses {
  const walker = new Walker(fn.type === 'ArrowFunctionExpression');
  walker.function(fn, new Scope(null), true);
  return walker.uses;
}
