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
import { PATCH_QUERY, type LoaderMessage, type MainMessage } from './channel.js';
import { ModuleFilter, type LoaderConfig } from './config.js';
import { INSTRUMENTED_MARK } from './instrument.js';
import { moduleIdOf } from './module-id.js';

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

export async function resolve(specifier: string, context: { parentURL?: string }, next: NextResolve) {
  // `livepatch` is the runtime this process runs under, wherever the
  // importer lives: a patch file in /tmp, or an application that does not
  // depend on livepatch itself. A second copy would be a second engine.
  if (specifier === 'livepatch' || specifier.startsWith('livepatch/')) {
    return next(specifier, { ...context, parentURL: import.meta.url });
  }
  return next(specifier, context);
}

export async function load(url: string, context: object, next: NextLoad): Promise<LoadResult> {
  if (url.startsWith('file:') && new URL(url).searchParams.has(PATCH_QUERY)) return loadPatch(url);
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

async function loadPatch(url: string): Promise<LoadResult> {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const message = m.message as MainMessage;
    if (message.type === 'patch-source') patchSources.set(message.url, message.source);
  }
  const source = patchSources.get(url);
  if (source === undefined) throw new Error(`livepatch: no verified source for patch module ${url}`);
  patchSources.delete(url);
  const pathname = new URL(url).pathname;
  if (!/\.[mc]?ts$/.test(pathname)) return { format: 'module', source, shortCircuit: true };
  const { transformSync } = await import('oxc-transform');
  const out = transformSync(pathname, source, { sourcemap: false });
  const errors = out.errors.filter((e) => e.severity === 'Error');
  if (errors.length) throw new Error(`livepatch: cannot compile ${pathname}: ${errors.map((e) => e.message).join('; ')}`);
  return { format: 'module', source: out.code, shortCircuit: true };
}
