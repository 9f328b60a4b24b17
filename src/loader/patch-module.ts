/**
 * Patch modules: the analog of `insmod` reading a `.ko`. A patch module is
 * an ESM or TypeScript file whose default export is the patch definition.
 *
 * livepatch runs patch modules itself, as async functions
 * (`source/module-body.ts`), instead of importing them through Node's ESM
 * loader, which keeps every module it ever loaded for the life of the
 * process: a patch that is refused, or freed once disabled, leaves nothing
 * behind for the garbage collector to miss. Each load reads and verifies
 * each of the patch's files, strips TypeScript off the event loop's thread,
 * and runs exactly those bytes; loading a file again gives a new instance
 * with a fresh definition.
 *
 * What a patch file imports:
 * - `livepatch` is the copy this process runs under, and Node's built-in
 *   modules are Node's;
 * - a path (relative, absolute, or a `file:` URL) is one of the patch's own
 *   files, read, verified and run the same way, once per load;
 * - a package is imported from the patch file's location, as Node would,
 *   except in a process that trusts a signing key: no signature covers it,
 *   and every file a patch brings in must carry one.
 */
import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PatchDefinition } from '../definition.js';
import { describeThrown, describeValue, isLivepatchError, lpError, type LivepatchError } from '../errors.js';
import type { ModuleLinks } from '../source/module-body.js';
import { moduleFunction } from '../source/module-body.js';
import { readRegularFile } from './files.js';
import { activeConfig, importerUrl, markPatchFile, ownEntryUrl } from './hooks.js';
import { verifySignature, type TrustedKey } from './signature.js';
import { isTypeScript, stripOffThread } from './typescript.js';

type Namespace = Record<string, unknown>;

/** The largest patch file read: patches are small, and a bundled one with its dependencies stays well below. */
export const MAX_PATCH_FILE_BYTES = 4 << 20;

/** What a failure of the author's file is reported as: the file, and what it threw. */
function loadError(file: string, err: unknown): LivepatchError {
  return lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: ${describeThrown(err)}` }, { cause: err });
}

/**
 * The real path of a patch file: symlinks are resolved once, and the file
 * found there is the one read and run. `importer` is the patch file whose
 * import names it, if any.
 */
async function realPathOf(file: string, importer?: string): Promise<string> {
  try {
    return await fs.promises.realpath(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw lpError('ERR_LP_PATCH_NOT_FOUND', { detail: importer ? `${file}, imported by ${importer}` : file }, { cause: err });
    }
    // loadError makes the catalog error.
    throw loadError(file, err);
  }
}

/**
 * The `line:column` that follows the first mention of `file` in a stack:
 * V8 names a JavaScript patch file by its URL (the compile's filename), and
 * a TypeScript one by its path (the `sourceURL` the stripper appends).
 */
function positionIn(stack: string, file: string): string | undefined {
  for (const name of [pathToFileURL(file).href, file]) {
    const at = stack.indexOf(`${name}:`);
    if (at >= 0) return /^\d+(?::\d+)?/.exec(stack.slice(at + name.length + 1))?.[0];
  }
  return undefined;
}

/**
 * Compiles a patch file's code into the function it runs as. A syntax
 * error names its line: the parser that rewrites the module's imports
 * gives it as `loc`, and V8, should the rewritten code not compile, as
 * `<filename>:<line>` first in its stack (the rewrite adds no line).
 */
function compileModule(file: string, code: string): (links: ModuleLinks) => Promise<void> {
  try {
    const vm = process.getBuiltinModule('node:vm');
    return new vm.Script(moduleFunction(code), { filename: pathToFileURL(file).href }).runInThisContext() as (links: ModuleLinks) => Promise<void>;
  } catch (err) {
    // loadError makes the catalog error for anything but a syntax error.
    if (!(err instanceof SyntaxError)) throw loadError(file, err);
    const { loc, description } = err as SyntaxError & { loc?: { start: { line: number; column: number } }; description?: string };
    const at = loc ? `${loc.start.line}:${loc.start.column + 1}` : positionIn(String(err.stack ?? '').split('\n', 1)[0], file);
    const where = at ? `:${at}` : '';
    throw lpError('ERR_LP_PATCH_SYNTAX', { detail: `${file}${where}: ${description ?? err.message}` }, { cause: err });
  }
}

/** A patch file's top level threw: what, and on which of its lines (the first frame in the file). */
function threwError(file: string, thrown: unknown): LivepatchError {
  let stack = '';
  try {
    stack = String((thrown as { stack?: unknown } | null)?.stack ?? '');
  } catch { /* a getter that throws: the error still says what was thrown */ }
  const line = positionIn(stack, file)?.split(':', 1)[0];
  const where = line ? ` at line ${line}` : '';
  return lpError('ERR_LP_PATCH_THREW', { detail: `${file}: its top level threw${where}: ${describeThrown(thrown)}` }, { cause: thrown });
}

/** A namespace object as an ES module's: no prototype, tagged `Module`, its exports added as getters. */
function createNamespace(): Namespace {
  return Object.create(null, { [Symbol.toStringTag]: { value: 'Module' } }) as Namespace;
}

function defineExport(namespace: Namespace, name: string, get: () => unknown): void {
  Object.defineProperty(namespace, name, { get, enumerable: true });
}

/** Whether a specifier names a file by its path: relative, absolute, or a `file:` URL. */
const isPath = (specifier: string) => /^(\.{0,2}\/|file:)/.test(specifier);

/** `import.meta` of a patch file; its `resolve` knows paths, livepatch and Node's built-in modules. */
function importMeta(file: string): object {
  const url = pathToFileURL(file).href;
  const resolve = (specifier: string) => {
    if (isPath(specifier)) return new URL(specifier, url).href;
    if (isBuiltin(specifier)) return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
    const own = ownEntryUrl(specifier);
    if (own !== undefined) return own;
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: import.meta.resolve(${JSON.stringify(specifier)}): a patch module resolves paths, livepatch and Node's built-in modules; import a package to use it` });
  };
  return { url, filename: file, dirname: path.dirname(file), resolve };
}

/** The analog of the ESM loader for one load of a patch: each of its files, run once. */
class PatchLoad {
  readonly #trustedKey: TrustedKey | null;
  readonly #files = new Map<string, { namespace: Namespace; evaluated: Promise<void> }>();

  constructor(trustedKey: TrustedKey | null) {
    this.#trustedKey = trustedKey;
  }

  /**
   * The namespace of a patch file (a real path), once it has run.
   * `importers` are the files whose imports led here: a file that imports
   * one of them back (a cycle) gets that file's namespace as it is so far.
   */
  async run(file: string, importers: readonly string[]): Promise<Namespace> {
    const known = this.#files.get(file);
    if (known) {
      if (!importers.includes(file)) await known.evaluated;
      return known.namespace;
    }
    const namespace = createNamespace();
    const evaluated = this.#evaluate(file, namespace, importers);
    this.#files.set(file, { namespace, evaluated });
    await evaluated;
    return namespace;
  }

  async #evaluate(file: string, namespace: Namespace, importers: readonly string[]): Promise<void> {
    markPatchFile(file);
    const run = compileModule(file, await this.#read(file));
    try {
      await run(this.#links(file, namespace, importers));
    } catch (err) {
      // A refusal keeps its code: a signature, a file the patch imports, one of livepatch's errors the patch passed on.
      if (isLivepatchError(err)) throw err;
      // threwError makes the catalog error.
      throw threwError(file, err);
    }
    Object.preventExtensions(namespace);
  }

  /** Reads, verifies and strips a patch file: the JavaScript it runs. */
  async #read(file: string): Promise<string> {
    try {
      const read = await readRegularFile(file, MAX_PATCH_FILE_BYTES, 'a patch file', 'ours');
      if ('refusal' in read) throw lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: ${read.refusal}` });
      if ('untrusted' in read) throw lpError('ERR_LP_UNTRUSTED_FILE', { detail: read.untrusted });
      await verifySignature(file, read.bytes, this.#trustedKey);
      const source = read.bytes.toString('utf8');
      return isTypeScript(file) ? await stripOffThread(source, file) : source;
    } catch (err) {
      // A refusal keeps its code: the file's, the signature's, the stripper's.
      if (isLivepatchError(err)) throw err;
      // loadError makes the catalog error.
      throw loadError(file, err);
    }
  }

  #links(file: string, namespace: Namespace, importers: readonly string[]): ModuleLinks {
    return {
      load: (specifier, options) => this.#import(String(specifier), options, file, [...importers, file]),
      meta: importMeta(file),
      export: (getters) => {
        for (const [name, get] of Object.entries(getters)) defineExport(namespace, name, get);
      },
      exportAll: (from) => {
        for (const name of Object.keys(from)) {
          if (name !== 'default' && !Object.hasOwn(namespace, name)) defineExport(namespace, name, () => (from as Namespace)[name]);
        }
      },
    };
  }

  async #import(specifier: string, options: unknown, from: string, importers: readonly string[]): Promise<object> {
    const own = ownEntryUrl(specifier);
    if (own !== undefined) return import(own);
    if (isBuiltin(specifier)) return import(specifier);
    if (isPath(specifier)) {
      return this.run(await realPathOf(fileURLToPath(new URL(specifier, pathToFileURL(from))), from), importers);
    }
    // A package is not one of the patch's files, so no signature covers it.
    if (this.#trustedKey) throw lpError('ERR_LP_UNSIGNED', { detail: `'${specifier}', a package of ${from}` });
    // A package, resolved from the patch file's location.
    const importer = (await import(importerUrl(from))) as { load(specifier: string, options: unknown): Promise<object> };
    return importer.load(specifier, options);
  }
}

/**
 * Waits for a patch's files to run, unless `signal` aborts first, or did:
 * then the load is refused, and what the patch does later is never used.
 */
function untilAborted<T>(evaluated: Promise<T>, signal: AbortSignal, file: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const refuse = () => {
      const within = typeof signal.reason === 'string' ? signal.reason : 'in time';
      reject(lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: it did not finish loading ${within}; its top level may await what never comes` }));
    };
    if (signal.aborted) refuse();
    signal.addEventListener('abort', refuse, { once: true });
    evaluated.then((value) => (signal.aborted ? refuse() : resolve(value)), reject)
      .finally(() => signal.removeEventListener('abort', refuse));
  });
}

/**
 * Runs a patch module and returns its default export, unchecked (the engine
 * checks the definition when it is enabled), with the real path of the file
 * it came from. When the process trusts a signing key, every file of the
 * patch must carry a valid detached signature (`<file>.sig`). `signal`
 * bounds the load (host.loadPatch).
 */
export async function importPatchModule(file: string, signal?: AbortSignal): Promise<{ definition: PatchDefinition; file: string }> {
  const config = activeConfig();
  if (!config) throw lpError('ERR_LP_NOT_LIVEPATCH');
  const real = await realPathOf(path.resolve(file));
  const evaluated = new PatchLoad(config.trustedKey).run(real, []);
  const namespace = signal ? await untilAborted(evaluated, signal, real) : await evaluated;
  let definition: unknown;
  try {
    definition = namespace.default;
  } catch (err) {
    // loadError makes the catalog error.
    throw loadError(real, err);
  }
  if (typeof definition !== 'object' || definition === null) {
    const others = Object.keys(namespace).filter((name) => name !== 'default');
    const what = Object.hasOwn(namespace, 'default') ? `its default export is ${describeValue(definition)}, not a patch definition` : 'it has no default export';
    throw lpError('ERR_LP_NO_DEFAULT_EXPORT', { detail: `${real}: ${what}${others.length > 0 ? ` (it exports ${others.join(', ')})` : ''}` });
  }
  return { definition: definition as PatchDefinition, file: real };
}
