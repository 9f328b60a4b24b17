/**
 * The loader hooks, on `module.registerHooks`: synchronous, in the thread
 * that loads the module, and covering `import`, `require`, `createRequire`
 * and `require(esm)` alike. They
 * - instrument every application and dependency module as it loads
 *   (ES modules, CommonJS, and TypeScript that Node would strip itself),
 *   and hand its symbol table to the runtime before its body runs;
 * - resolve `livepatch` to the copy this process runs under, for patch
 *   modules and application code alike;
 * - serve patch modules from the source that was read and verified
 *   (`patch-module.ts`), so the bytes that run are the bytes checked.
 *
 * A module the hooks cannot instrument loads as it is, with one warning:
 * nothing here may fail a load that would succeed without livepatch.
 */
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import { registerHooks } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pr } from '../log.js';
import { DIST, INDEX_URL, REGISTER } from '../paths.js';
import { modules } from '../runtime/modules.js';
import { moduleIdOf } from '../source/module-id.js';
import { TransformCache } from './cache.js';
import { ModuleFilter, type LoaderConfig } from './config.js';
import { INSTRUMENTED_MARK } from './instrument.js';
import { verifySignature } from './signature.js';
import { isTypeScript, stripTypes } from './typescript.js';

/** The entry points of this copy of livepatch (package.json "exports"), resolved without a package lookup. */
const OWN_ENTRIES = new Map([
  ['livepatch', INDEX_URL],
  ['livepatch/internal', pathToFileURL(path.join(DIST, 'internal.js')).href],
  ['livepatch/register', pathToFileURL(REGISTER).href],
]);

/** Query parameter that marks a patch module URL; each load gets a fresh value, hence a fresh module instance. */
export const PATCH_QUERY = 'livepatch-load';
/** Marks a module a patch module imports by a relative path (a multi-file patch); carries the load's value. */
export const PATCH_DEP_QUERY = 'livepatch-dep';

interface Loader {
  config: LoaderConfig;
  cache: TransformCache;
  filter: ModuleFilter;
}

let loader: Loader | null = null;

/** Verified (and stripped) patch sources by URL, put here by `patch-module.ts` and taken once by `load`. */
const patchSources = new Map<string, string>();

/** The loader configuration of this thread, or null when it was not started under livepatch. */
export function activeConfig(): LoaderConfig | null {
  return loader?.config ?? null;
}

/** Serves `source` as the module at `url` the next time it loads. */
export function servePatchSource(url: string, source: string): void {
  patchSources.set(url, source);
}

/** Drops a served source that was not loaded. */
export function withdrawPatchSource(url: string): void {
  patchSources.delete(url);
}

/** Installs the hooks in this thread, once. */
export function installHooks(config: LoaderConfig): void {
  if (loader) return;
  loader = { config, cache: new TransformCache(config.cacheDir), filter: new ModuleFilter(config) };
  registerHooks({ resolve, load });
  trackCommonJsBodies();
}

/** The load value of a patch module or of a file it imports, or null for other URLs. */
function patchLoad(url: string | undefined): string | null {
  if (!url?.startsWith('file:') || !url.includes('?')) return null;
  const params = new URL(url).searchParams;
  return params.get(PATCH_QUERY) ?? params.get(PATCH_DEP_QUERY);
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
  // A patch module's relative imports are part of the patch: loaded fresh
  // with each load of the patch, stripped if TypeScript, and signed too.
  const load = patchLoad(context.parentURL);
  if (load !== null && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const url = new URL(specifier, context.parentURL);
    url.search = `?${PATCH_DEP_QUERY}=${load}`;
    return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
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

function load(url: string, context: LoadContext, next: NextLoad) {
  if (patchLoad(url) !== null) return { format: 'module' as const, source: patchSource(url), shortCircuit: true };
  const result = next(url, context);
  const formats = INSTRUMENTED[String(result.format)];
  if (!formats || !url.startsWith('file:') || result.source == null || !loader) return result;

  const filename = fileURLToPath(url);
  const id = moduleIdOf(filename, loader.config.root);
  if (!loader.filter.accepts(id, filename)) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  if (source.slice(0, 4096).includes(INSTRUMENTED_MARK)) return result;
  const transform = result.format && isTypeScript(result.format) ? (ts: string) => stripTypes(ts, filename) : null;
  let failure: unknown;
  for (const format of formats) {
    try {
      const instrumented = loader.cache.instrument(source, { id, format, transform });
      modules.addMeta(instrumented.metaKey, instrumented.meta);
      return { ...result, format: format === 'esm' ? 'module' : 'commonjs', source: instrumented.code };
    } catch (err) {
      failure ??= err;
    }
  }
  pr('warn', `cannot instrument '${id}' (${filename}): ${(failure as Error)?.message ?? failure}; it runs unpatchable`);
  return result;
}

/**
 * A patch module's source is the one `patch-module.ts` read, verified and
 * stripped; a file it imports that was not served that way (an import
 * reached only at run time) is read, verified and stripped here.
 */
function patchSource(url: string): string {
  const served = patchSources.get(url);
  if (served !== undefined) {
    patchSources.delete(url);
    return served;
  }
  const pathname = fileURLToPath(url);
  const source = fs.readFileSync(pathname, 'utf8');
  verifySignature(pathname, source, loader!.config.trustedKey);
  return isTypeScript(pathname) ? stripTypes(source, pathname) : source;
}

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
