/**
 * ESM loader hooks, registered with `module.register` and run on Node's
 * loader thread. They instrument ES modules as they load, hand each symbol
 * table to the main thread, resolve `livepatch` for patch modules to this
 * package, and serve patch modules (TypeScript included) from the source the
 * main thread verified. CommonJS arrives here with no source in Node 20 and
 * is instrumented by the compile hook on the main thread instead.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { TransformCache } from './cache.js';
import fs from 'node:fs';
import { lpError } from '../errors.js';
import { verifySignature } from './signature.js';
import { PATCH_DEP_QUERY, PATCH_QUERY, type LoaderMessage, type MainMessage } from './channel.js';
import { ModuleFilter, type LoaderConfig } from './config.js';
import { INSTRUMENTED_MARK } from './instrument.js';
import { moduleIdOf } from '../source/module-id.js';

interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context?: object) => Promise<LoadResult>;
type NextResolve = (specifier: string, context?: object) => Promise<{ url: string }>;

let config: LoaderConfig;
let port: MessagePort;
let cache: TransformCache;
let filter: ModuleFilter;
const patchSources = new Map<string, string>();

export function initialize(data: { config: LoaderConfig; port: MessagePort }): void {
  config = data.config;
  port = data.port;
  cache = new TransformCache(config.cacheDir);
  filter = new ModuleFilter(config);
}

function post(message: LoaderMessage): void {
  port.postMessage(message);
}

/** The load value of a patch module or of a file it imports, or null for other URLs. */
function patchLoad(url: string | undefined): string | null {
  if (!url?.startsWith('file:')) return null;
  const params = new URL(url).searchParams;
  return params.get(PATCH_QUERY) ?? params.get(PATCH_DEP_QUERY);
}

export async function resolve(specifier: string, context: { parentURL?: string }, next: NextResolve) {
  // `livepatch` is the runtime this process runs under, wherever the
  // importer lives: a patch file in /tmp, or an application that does not
  // depend on livepatch itself. A second copy would be a second engine.
  if (specifier === 'livepatch' || specifier.startsWith('livepatch/')) {
    return next(specifier, { ...context, parentURL: import.meta.url });
  }
  // A patch module's relative imports are part of the patch: loaded fresh
  // with each load of the patch, compiled if TypeScript, and signed too.
  const load = patchLoad(context.parentURL);
  if (load !== null && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const url = new URL(specifier, context.parentURL);
    url.search = `?${PATCH_DEP_QUERY}=${load}`;
    return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url: string, context: object, next: NextLoad): Promise<LoadResult> {
  if (patchLoad(url) !== null) return loadPatch(url);
  const result = await next(url, context);
  if (result.format !== 'module' || !url.startsWith('file:') || result.source == null) return result;

  const filename = fileURLToPath(url);
  const id = moduleIdOf(filename, config.root);
  if (!filter.accepts(id, filename)) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as ArrayBuffer).toString('utf8');
  if (source.slice(0, 4096).includes(INSTRUMENTED_MARK)) return result;
  try {
    const { code, meta, metaKey } = cache.instrument(source, { id, format: 'esm' });
    // Sent before the source is returned, so it is queued before the module runs.
    post({ type: 'meta', key: metaKey, meta });
    return { ...result, source: code };
  } catch (err) {
    post({ type: 'warn', text: `cannot instrument '${id}' (${filename}): ${(err as Error).message}; it runs unpatchable` });
    return result;
  }
}

/**
 * A patch module's source is the one the main thread verified and sent; a
 * file it imports is read and verified here.
 */
async function loadPatch(url: string): Promise<LoadResult> {
  const pathname = fileURLToPath(url);
  let source: string | undefined;
  if (new URL(url).searchParams.has(PATCH_QUERY)) {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const message = m.message as MainMessage;
      if (message.type === 'patch-source') patchSources.set(message.url, message.source);
    }
    source = patchSources.get(url);
    if (source === undefined) throw lpError('ERR_LP_PATCH_LOAD', { detail: `${pathname}: no verified source for it` });
    patchSources.delete(url);
  } else {
    source = fs.readFileSync(pathname, 'utf8');
    verifySignature(pathname, source, config.trustedKey);
  }
  if (!/\.[mc]?ts$/.test(pathname)) return { format: 'module', source, shortCircuit: true };
  return { format: 'module', source: await stripTypes(pathname, source), shortCircuit: true };
}

/**
 * TypeScript to JavaScript with amaro, the type stripper Node itself ships.
 * Strip-only mode replaces types with whitespace, so the patch keeps its
 * lines in stack traces; syntax that needs code (enums, namespaces) falls
 * back to transform mode.
 */
async function stripTypes(pathname: string, source: string): Promise<string> {
  const amaro = await import('amaro');
  try {
    return amaro.transformSync(source, { mode: 'strip-only' }).code;
  } catch (err) {
    if ((err as { code?: string }).code !== 'UnsupportedSyntax') {
      throw lpError('ERR_LP_PATCH_LOAD', { detail: `${pathname}: cannot compile it: ${(err as Error).message}` });
    }
    return amaro.transformSync(source, { mode: 'transform' }).code;
  }
}
