/**
 * The engine's copy of a patch definition, and its checks (`klp_enable_patch`
 * steps 1-2, and those of `klp_init_patch`, `klp_init_object` and
 * `klp_init_func`). The author's object is read once, field by field, into
 * frozen plain data that is checked as it is read; from then on the engine
 * uses only the copy. A getter therefore runs once and a Proxy trap once
 * per field, so what was checked is what is used, and what either throws is
 * the author's error, ERR_LP_INVALID_DEFINITION. Functions (replacements,
 * factories, callbacks) are kept as they are: calling them is their purpose.
 * A func named by its `original` source location is resolved here, once,
 * through its module's source map (`loader/originals.ts`): the copy names
 * the bundle's symbol and sympos, as a func named by `oldName` does.
 */
import type { Callbacks, FuncByName, FuncDefinition, NewFunc, ObjectDefinition, OriginalSource, PatchDefinition, StateDefinition } from '../definition.js';
import { withScope } from '../definition.js';
import { describeThrown, describeValue, lpError, type ErrorContext } from '../errors.js';
import { resolveOriginal } from '../loader/originals.js';
import { isValidModuleId } from '../source/module-id.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,54}$/;
const HASH = /^[0-9a-f]{16}$/;
const CALLBACKS = ['prePatch', 'postPatch', 'preUnpatch', 'postUnpatch'] as const;
const SCOPED = Symbol.for('livepatch.scoped');
/** More entries than a patch has in any list: the bound on the length an array (or a Proxy of one) may claim. */
const MAX_ENTRIES = 10_000;

/** Reads one field of the author's object; a getter or a trap that throws is the author's error. */
function read(from: object, key: PropertyKey, where: ErrorContext, field: string): unknown {
  try {
    return (from as Record<PropertyKey, unknown>)[key];
  } catch (err) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: `reading ${field} threw: ${describeThrown(err)}` }, { cause: err });
  }
}

/** The entries of an array field, each read once; anything else is refused with `refusal`. */
function readArray(value: unknown, where: ErrorContext, field: string, refusal: string): unknown[] {
  let isArray: boolean;
  try {
    isArray = Array.isArray(value);
  } catch (err) {
    // Array.isArray throws only for a revoked Proxy.
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: `reading ${field} threw: ${describeThrown(err)}` }, { cause: err });
  }
  if (!isArray) throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: refusal });
  const length = read(value as object, 'length', where, `${field}.length`);
  if (!Number.isSafeInteger(length) || (length as number) > MAX_ENTRIES) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: `${field} has ${describeValue(length)} entries; at most ${MAX_ENTRIES} are allowed` });
  }
  return Array.from({ length: length as number }, (_, i) => read(value as object, i, where, `${field}[${i}]`));
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

export type FunctionKind = 'async' | 'generator' | 'async-generator' | 'sync';

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor;

const KIND_NAMES = { 'async': 'an async function', 'generator': 'a generator function', 'async-generator': 'an async generator function' } as const;

/** The calling convention of an author's function; a Proxy whose prototype trap throws is the author's error. */
export function kindOf(fn: Function, where: ErrorContext, field: string): FunctionKind {
  try {
    if (fn instanceof AsyncGeneratorFunction) return 'async-generator';
    if (fn instanceof GeneratorFunction) return 'generator';
    if (fn instanceof AsyncFunction) return 'async';
    return 'sync';
  } catch (err) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: `reading the prototype of ${field} threw: ${describeThrown(err)}` }, { cause: err });
  }
}

/** A replacement: a function, checked for its kind at once, or a `withScope` copied with its factory. */
function readNewFunc(func: object, where: ErrorContext): FuncDefinition['newFunc'] {
  const newFunc = read(func, 'newFunc', where, 'newFunc');
  if (typeof newFunc === 'function') {
    kindOf(newFunc, where, 'newFunc');
    return newFunc as NewFunc;
  }
  if (!isObject(newFunc) || read(newFunc, SCOPED, where, 'newFunc') !== true) throw lpError('ERR_LP_MISSING_NEW_FUNC', where);
  const factory = read(newFunc, 'factory', where, 'newFunc.factory');
  if (typeof factory !== 'function') {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: `the withScope factory must be a function, not ${describeValue(factory)}` });
  }
  return withScope(factory as (scope: unknown) => NewFunc);
}

/** A func's `original`: a source file and a line, copied. */
function readOriginal(original: unknown, where: ErrorContext): OriginalSource {
  if (!isObject(original)) throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: 'original must be { source, line }' });
  const source = read(original, 'source', where, 'original.source');
  const line = read(original, 'line', where, 'original.line');
  if (typeof source !== 'string' || source.length === 0 || source.length >= 1024 || !Number.isInteger(line) || (line as number) < 1) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: 'original must be { source: a file its source map names, line: a positive integer }' });
  }
  return Object.freeze({ source, line: line as number });
}

/** The func's symbol: `oldName` and `oldSympos` as written, or those its `original` resolves to through the module's source map. */
function readSymbol(func: object, where: ErrorContext & { object: string }): { oldName: string; oldSympos?: number; original?: OriginalSource } {
  const oldName = read(func, 'oldName', where, 'oldName');
  const original = read(func, 'original', where, 'original');
  if (original !== undefined) {
    if (oldName !== undefined || read(func, 'oldSympos', where, 'oldSympos') !== undefined) {
      throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: 'a func names its original either by oldName (and oldSympos) or by original, not both' });
    }
    const copy = readOriginal(original, where);
    return { ...resolveOriginal(where.object, copy, where), original: copy };
  }
  if (typeof oldName !== 'string' || oldName.length === 0 || oldName.length >= 512) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: 'oldName must be a non-empty string shorter than 512 characters' });
  }
  const oldSympos = read(func, 'oldSympos', { ...where, symbol: oldName }, 'oldSympos');
  if (oldSympos !== undefined && !(Number.isInteger(oldSympos) && (oldSympos as number) >= 0)) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, symbol: oldName, detail: 'oldSympos must be a non-negative integer' });
  }
  return { oldName, ...(oldSympos === undefined ? {} : { oldSympos: oldSympos as number }) };
}

function readFunc(func: unknown, where: ErrorContext & { object: string }): FuncDefinition {
  if (!isObject(func)) throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: 'a func entry is not an object' });
  const symbol = readSymbol(func, where);
  const at = { ...where, symbol: symbol.oldName };
  const oldHash = read(func, 'oldHash', at, 'oldHash');
  if (oldHash !== undefined && (typeof oldHash !== 'string' || !HASH.test(oldHash))) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { ...at, detail: 'oldHash must be 16 lowercase hex digits, as `livepatch symbols` prints it' });
  }
  const newFunc = readNewFunc(func, at);
  // The engine's copy names the symbol; `original` stays beside it, for the record.
  return Object.freeze({ ...symbol, newFunc, ...(oldHash === undefined ? {} : { oldHash }) }) as FuncDefinition;
}

function readCallbacks(callbacks: unknown, where: ErrorContext): Callbacks | undefined {
  if (callbacks === undefined) return undefined;
  if (!isObject(callbacks)) throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: 'callbacks must be an object' });
  const copy: Record<string, unknown> = {};
  for (const key of CALLBACKS) {
    const cb = read(callbacks, key, where, `callbacks.${key}`);
    if (cb === undefined) continue;
    if (typeof cb !== 'function') throw lpError('ERR_LP_INVALID_DEFINITION', { ...where, detail: `callbacks.${key} must be a function` });
    const kind = kindOf(cb, where, `callbacks.${key}`);
    if (kind !== 'sync') throw lpError('ERR_LP_ASYNC_CALLBACK', { ...where, detail: `callbacks.${key} is ${KIND_NAMES[kind]}` });
    copy[key] = cb;
  }
  return Object.freeze(copy) as Callbacks;
}

function readObject(obj: unknown, patch: string): ObjectDefinition {
  if (!isObject(obj)) throw lpError('ERR_LP_INVALID_DEFINITION', { patch, detail: 'an object entry is not an object' });
  const module = read(obj, 'module', { patch }, 'module');
  if (!isValidModuleId(module)) throw lpError('ERR_LP_INVALID_MODULE_ID', { patch, detail: describeValue(module) });
  const where = { patch, object: module };
  const funcs = readArray(read(obj, 'funcs', where, 'funcs'), where, 'funcs', 'funcs must be an array (it may be empty)').map((f) => readFunc(f, where));
  const dirs = new Set<string>();
  for (const func of funcs) {
    const { oldName, oldSympos } = func as FuncByName;
    const sympos = oldSympos || 1;
    const dir = `${oldName},${sympos}`;
    if (dirs.has(dir)) throw lpError('ERR_LP_DUPLICATE_FUNC', { ...where, symbol: oldName, sympos });
    dirs.add(dir);
  }
  const callbacks = readCallbacks(read(obj, 'callbacks', where, 'callbacks'), where);
  return Object.freeze({ module, funcs: Object.freeze(funcs) as FuncDefinition[], ...(callbacks ? { callbacks } : {}) });
}

function readState(state: unknown, patch: string): StateDefinition {
  const id = isObject(state) ? read(state, 'id', { patch }, 'a state id') : undefined;
  if (!Number.isInteger(id) || (id as number) <= 0) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { patch, detail: 'a state id must be a positive integer' });
  }
  const version = read(state as object, 'version', { patch }, `state ${id}: version`);
  if (!Number.isInteger(version) || (version as number) < 0) {
    throw lpError('ERR_LP_INVALID_DEFINITION', { patch, detail: `state ${id}: version must be a non-negative integer` });
  }
  const data = read(state as object, 'data', { patch }, `state ${id}: data`);
  // `data` is the patch's to set at run time, as `klp_state.data` is; id and version stay as checked.
  const fixed = { writable: false, enumerable: true, configurable: false };
  return Object.seal(Object.defineProperties({ data }, { id: { ...fixed, value: id }, version: { ...fixed, value: version } })) as StateDefinition;
}

function readStates(states: unknown, patch: string): StateDefinition[] | undefined {
  if (states === undefined) return undefined;
  const copy = readArray(states, { patch }, 'states', 'states must be an array').map((s) => readState(s, patch));
  const ids = new Set<number>();
  for (const { id } of copy) {
    if (ids.has(id)) throw lpError('ERR_LP_INVALID_DEFINITION', { patch, detail: `state ${id} is declared twice` });
    ids.add(id);
  }
  return Object.freeze(copy) as StateDefinition[];
}

/**
 * Reads and checks a definition, before anything is created. Returns the
 * frozen copy the engine works on; throws the catalog error of the first
 * field that is wrong.
 */
export function snapshotDefinition(def: unknown): PatchDefinition {
  if (!isObject(def) || typeof def === 'function') {
    throw lpError('ERR_LP_INVALID_DEFINITION', { detail: 'the definition is not an object' });
  }
  const name = read(def, 'name', {}, 'name');
  if (typeof name !== 'string' || !NAME.test(name)) throw lpError('ERR_LP_INVALID_NAME', { detail: describeValue(name) });
  const replace = read(def, 'replace', { patch: name }, 'replace');
  if (replace !== undefined && typeof replace !== 'boolean') {
    throw lpError('ERR_LP_INVALID_DEFINITION', { patch: name, detail: 'replace must be a boolean' });
  }
  const objects = readArray(read(def, 'objects', { patch: name }, 'objects'), { patch: name }, 'objects', 'objects must be an array')
    .map((o) => readObject(o, name));
  const modules = new Set<string>();
  for (const { module } of objects) {
    if (modules.has(module)) throw lpError('ERR_LP_DUPLICATE_OBJECT', { patch: name, object: module });
    modules.add(module);
  }
  const states = readStates(read(def, 'states', { patch: name }, 'states'), name);
  return Object.freeze({
    name,
    objects: Object.freeze(objects) as ObjectDefinition[],
    ...(replace === undefined ? {} : { replace }),
    ...(states ? { states } : {}),
  });
}
