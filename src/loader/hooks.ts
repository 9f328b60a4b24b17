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
 */
import diagnostics from 'node:diagnostics_channel';
import { registerHooks } from 'node:module';
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
  registerHooks({ resolve, load });
  trackCommonJsBodies();
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
  const resolved = next(specifier, context);
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

function load(url: string, context: LoadContext, next: NextLoad) {
  if (url.endsWith(IMPORTER_QUERY)) return { format: 'module' as const, source: IMPORTER_SOURCE, shortCircuit: true };
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
      const code = withComposedMap(instrumented.code, instrumented, source, url, filename, loader.cache);
      return { ...result, format: format === 'esm' ? 'module' : 'commonjs', source: code };
    } catch (err) {
      failure ??= err;
    }
  }
  pr('warn', `cannot instrument '${id}' (${filename}): ${(failure as Error)?.message ?? failure}; it runs unpatchable`);
  return result;
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
