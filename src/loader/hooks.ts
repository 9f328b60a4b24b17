/**
 * The loader hooks, on `module.registerHooks`: synchronous, in the thread
 * that loads the module, and covering `import`, `require`, `createRequire`
 * and `require(esm)` alike. They
 * - instrument every application and dependency module as it loads
 *   (ES modules, CommonJS, and TypeScript that Node would strip itself),
 *   and hand its symbol table to the runtime before its body runs;
 * - resolve `livepatch` to the copy this process runs under, for patch
 *   modules and application code alike;
 * - serve, at a patch file's own URL, the module through which a patch
 *   imports packages as that file would (`patch-module.ts` runs patch
 *   files themselves).
 *
 * A module the hooks cannot instrument loads as it is, with one warning:
 * nothing here may fail a load that would succeed without livepatch.
 *
 * Other loaders (docs/running.md): livepatch instruments what they produce,
 * whichever registered first. `module.register` hooks always run inside the
 * in-thread hooks, so their output reaches `load` here; of the in-thread
 * hooks, livepatch's stay the outermost (`keepOutermost`), so a transpiler
 * registered after it runs inside it too. CommonJS that a loader compiles
 * itself, without the load hooks (tsx, ts-node, pirates' `require` hooks), is
 * instrumented when it compiles (`instrumentAtCompile`). Left alone: a
 * module another tool generates in place of a file (`isGenerated`), and a
 * module that another loader's hooks load while they run
 * (`insideOtherHooks`). Nothing of livepatch runs in `module.register`'s
 * hooks thread, so nothing there is instrumented.
 */
import diagnostics from 'node:diagnostics_channel';
import nodeModule from 'node:module';
import { registerHooks, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lpError } from '../errors.js';
import { pr } from '../log.js';
import { DIST, INDEX_URL, REGISTER } from '../paths.js';
import { modules } from '../runtime/modules.js';
import { moduleIdOf } from '../source/module-id.js';
import { TransformCache } from './cache.js';
import { ModuleFilter, type LoaderConfig } from './config.js';
import { INSTRUMENTED_MARK } from './instrument.js';
import { withComposedMap } from './source-maps.js';
import { isTypeScript, stripTypes } from './typescript.js';

/** The entry points of this copy of livepatch (package.json "exports"), resolved without a package lookup. */
const OWN_ENTRIES = new Map([
  ['livepatch', INDEX_URL],
  ['livepatch/internal', pathToFileURL(path.join(DIST, 'internal.js')).href],
  ['livepatch/register', pathToFileURL(REGISTER).href],
]);

/** The query that marks a patch file's importer: the module whose `import()` resolves as an import from that file. */
const IMPORTER_QUERY = '?livepatch-importer';
const IMPORTER_SOURCE = 'export const load = (specifier, options) => import(specifier, options);\n';

interface Loader {
  config: LoaderConfig;
  cache: TransformCache;
  filter: ModuleFilter;
}

let loader: Loader | null = null;

/** The loader configuration of this thread, or null when it was not started under livepatch. */
export function activeConfig(): LoaderConfig | null {
  return loader?.config ?? null;
}

/** The URL of one of livepatch's own entry points (`livepatch`, `livepatch/internal`, …), or undefined. */
export function ownEntryUrl(specifier: string): string | undefined {
  return OWN_ENTRIES.get(specifier);
}

/** The real paths of the patch files this thread has run: what they resolve through Node comes from a patch. */
const patchFiles = new Set<string>();

/** Records that `file` (a real path) is a patch file. */
export function markPatchFile(file: string): void {
  patchFiles.add(file);
}

function isPatchFile(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('file:') && patchFiles.has(fileURLToPath(url));
}

/**
 * The URL of the importer of a patch file: a one-line module, kept by Node
 * for the file's path, whose `load(specifier)` imports as the file would.
 */
export function importerUrl(file: string): string {
  return pathToFileURL(file).href + IMPORTER_QUERY;
}

/** Installs the hooks in this thread, once. */
export function installHooks(config: LoaderConfig): void {
  if (loader) return;
  loader = { config, cache: new TransformCache(config.cacheDir), filter: new ModuleFilter(config) };
  registerOwnHooks();
  keepOutermost();
  instrumentAtCompile();
  trackCommonJsBodies();
}

let registration: ReturnType<typeof registerHooks> | null = null;

/** (Re)registers livepatch's hooks, which makes them the outermost: Node runs the last registered first. */
function registerOwnHooks(): void {
  registration?.deregister();
  registration = registerHooks({ resolve, load });
}

/**
 * Keeps livepatch's hooks the outermost of this thread's in-thread hooks:
 * each `module.registerHooks` after livepatch's registers livepatch's again,
 * above the new ones. The new hooks then run inside livepatch's, their
 * output (a transpiler's JavaScript) is what gets instrumented, and the
 * order in which a program registers its loaders changes nothing.
 */
function keepOutermost(): void {
  const registerOthers = nodeModule.registerHooks;
  nodeModule.registerHooks = function registerHooks(hooks) {
    const handle = registerOthers.call(this, hooks);
    registerOwnHooks();
    return handle;
  };
  // ES imports of `node:module` that come later see the wrapper too.
  syncBuiltinESMExports();
}

type ResolveContext = Parameters<Parameters<typeof registerHooks>[0]['resolve'] & object>[1];
type NextResolve = Parameters<Parameters<typeof registerHooks>[0]['resolve'] & object>[2];
type LoadContext = Parameters<Parameters<typeof registerHooks>[0]['load'] & object>[1];
type NextLoad = Parameters<Parameters<typeof registerHooks>[0]['load'] & object>[2];

function resolve(specifier: string, context: ResolveContext, next: NextResolve) {
  // `livepatch` is the runtime this process runs under, wherever the
  // importer lives: a patch file in /tmp, or an application that does not
  // depend on livepatch itself. A second copy would be a second engine.
  const own = OWN_ENTRIES.get(specifier);
  if (own !== undefined) return { url: own, format: 'module', shortCircuit: true };
  if (specifier.startsWith('livepatch/')) return next(specifier, { ...context, parentURL: import.meta.url });
  if (specifier.endsWith(IMPORTER_QUERY)) return { url: specifier, format: 'module', shortCircuit: true };
  const resolved = insideOtherHooks > 0 ? next(specifier, context) : callNext(() => next(specifier, context));
  // A patch file brings in its own files through its imports, which
  // verifies them; what it reaches through Node (a require function made
  // from import.meta.url) is not signed, and a process that trusts a key runs nothing unsigned.
  if (loader?.config.trustedKey && resolved.url.startsWith('file:') && isPatchFile(context.parentURL)) {
    throw lpError('ERR_LP_UNSIGNED', { detail: fileURLToPath(resolved.url) });
  }
  return resolved;
}

/**
 * The formats the hooks instrument: how each is parsed, in order of trial,
 * and what it loads as. `require` of a `.js` file of a package without a
 * `type` comes with no format: Node compiles it as CommonJS and, when that
 * fails on module syntax, as an ES module; so do the hooks.
 */
const INSTRUMENTED: Record<string, ('esm' | 'cjs')[]> = {
  'module': ['esm'],
  'commonjs': ['cjs'],
  'module-typescript': ['esm'],
  'commonjs-typescript': ['cjs'],
  'undefined': ['cjs', 'esm'],
};

/**
 * Modules that another tool generates in place of a file, at the file's URL
 * with a query of its own: import-in-the-middle's wrapper (`?iitm=…`), which
 * re-exports the file's real module, itself loaded and instrumented at the
 * file's own URL. Instrumenting the wrapper would make it a second instance
 * of the file's module id, without its functions.
 */
const GENERATED_QUERIES = ['iitm'];

function isGenerated(url: string): boolean {
  const query = url.indexOf('?');
  if (query < 0) return false;
  const params = new URLSearchParams(url.slice(query + 1).split('#')[0]);
  return GENERATED_QUERIES.some((name) => params.has(name));
}

/**
 * How many of livepatch's hooks are waiting on `next`, in which the hooks
 * registered below livepatch's run. A module that loads meanwhile is loaded
 * by one of those hooks for itself (tsx loading esbuild, a program's hook
 * reading a helper): it is that loader's code, not the application's, and
 * is never instrumented, as code in `module.register`'s hooks thread is not.
 */
let insideOtherHooks = 0;

function callNext<T>(next: () => T): T {
  insideOtherHooks++;
  try {
    return next();
  } finally {
    insideOtherHooks--;
  }
}

function load(url: string, context: LoadContext, next: NextLoad) {
  if (url.endsWith(IMPORTER_QUERY)) return { format: 'module' as const, source: IMPORTER_SOURCE, shortCircuit: true };
  if (insideOtherHooks > 0) return next(url, context);
  const result = callNext(() => next(url, context));
  const formats = INSTRUMENTED[String(result.format)];
  if (!formats || !url.startsWith('file:') || result.source == null || isGenerated(url)) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  const instrumented = instrumentModule(fileURLToPath(url), source, formats, isTypeScript(String(result.format)));
  return instrumented ? { ...result, format: instrumented.format === 'esm' ? 'module' : 'commonjs', source: instrumented.code } : result;
}

/**
 * The instrumented code of the module in `filename`, tried as each of
 * `formats` in turn, or null when it is not to be instrumented (filtered out,
 * already instrumented) or cannot be (one warning says so, and it runs as it is).
 */
function instrumentModule(filename: string, source: string, formats: ('esm' | 'cjs')[], typescript: boolean) {
  // The mark first: every CommonJS module the load hook instrumented reaches `_compile` again, and needs no id.
  if (!loader || insideOtherHooks > 0 || source.slice(0, 4096).includes(INSTRUMENTED_MARK)) return null;
  const id = moduleIdOf(filename, loader.config.fixedRoot);
  if (!loader.filter.accepts(id, filename)) return null;
  const transform = typescript ? (ts: string) => stripTypes(ts, filename) : null;
  let failure: unknown;
  for (const format of formats) {
    try {
      const instrumented = loader.cache.instrument(source, { id, format, transform });
      modules.addMeta(instrumented.metaKey, instrumented.meta);
      return { format, code: withComposedMap(instrumented.code, instrumented, source, pathToFileURL(filename).href, filename, loader.cache) };
    } catch (err) {
      failure ??= err;
    }
  }
  pr('warn', `cannot instrument '${id}' (${filename}): ${(failure as Error)?.message ?? failure}; it runs unpatchable`);
  unpatchable.add(filename);
  return null;
}

/** The files that could not be instrumented, each warned about once: CommonJS that failed in the load hooks reaches `_compile` next. */
const unpatchable = new Set<string>();

/**
 * CommonJS that reaches Node's compiler without passing the load hooks:
 * loaders that compile it themselves (tsx, ts-node and every `pirates`
 * hook call `module._compile` with their own output), and CommonJS that
 * an ES module imports while `module.register` hooks are active. What
 * passed the load hooks arrives instrumented and is compiled as it is.
 */
function instrumentAtCompile(): void {
  type Compile = (this: unknown, content: unknown, filename: unknown, format?: unknown, ...rest: unknown[]) => unknown;
  const prototype = (nodeModule as unknown as { prototype: { _compile: Compile } }).prototype;
  const compile = prototype._compile;
  prototype._compile = function _compile(content, filename, format, ...rest) {
    if (typeof content === 'string' && typeof filename === 'string' && path.isAbsolute(filename) && !unpatchable.has(filename)) {
      const kind = COMPILED[String(format)];
      const instrumented = kind && instrumentModule(filename, content, [kind.as], kind.typescript);
      if (instrumented) return Reflect.apply(compile, this, [instrumented.code, filename, kind.format, ...rest]);
    }
    return Reflect.apply(compile, this, [content, filename, format, ...rest]);
  };
}

/** The formats `_compile` is given (none from a loader's own `require` hook), how each is instrumented, and what it then compiles as. */
const COMPILED: Record<string, { as: 'esm' | 'cjs'; typescript: boolean; format: string | undefined }> = {
  'undefined': { as: 'cjs', typescript: false, format: undefined },
  'commonjs': { as: 'cjs', typescript: false, format: 'commonjs' },
  'commonjs-typescript': { as: 'cjs', typescript: true, format: 'commonjs' },
  'module': { as: 'esm', typescript: false, format: 'module' },
  'module-typescript': { as: 'esm', typescript: true, format: 'module' },
};

/**
 * A CommonJS module is LIVE when its body completes, and GOING when its body
 * throws (Node then drops it, and a later `require` loads it afresh). Node
 * publishes every `require` on the `module.require` tracing channel, the
 * entry module and CommonJS loaded by `import` included; the module a
 * `require` loads announces itself first after the require starts, so the
 * instance to settle is the next one announced after that point.
 */
function trackCommonJsBodies(): void {
  const started: number[] = [];
  const settle = (seq: number | undefined, outcome: 'live' | 'going') => {
    if (seq === undefined || modules.lastSeq <= seq) return;
    const instance = modules.bySeq(seq + 1);
    if (instance === undefined || instance.meta.format !== 'cjs' || instance.state !== 'coming') return;
    if (outcome === 'live') modules.live(instance);
    else modules.going(instance);
  };
  diagnostics.tracingChannel('module.require').subscribe({
    start: () => {
      started.push(modules.lastSeq);
    },
    end: () => settle(started.pop(), 'live'),
    // Published before `end`, which then finds the instance gone.
    error: () => settle(started.at(-1), 'going'),
    asyncStart: () => {},
    asyncEnd: () => {},
  });
}
