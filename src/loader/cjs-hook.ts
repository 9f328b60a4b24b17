/**
 * CommonJS instrumentation through `Module.prototype._compile`, which every
 * `require` of a file passes through, and which also receives ES modules
 * loaded with `require(esm)` (format 'module', the third argument, which must
 * be forwarded or those modules would silently run uninstrumented).
 */
import Module from 'node:module';
import { pr } from '../log.js';
import { modules } from '../runtime/modules.js';
import type { TransformCache } from './cache.js';
import { ModuleFilter, OWN_DIST, type LoaderConfig } from './config.js';
import { INSTRUMENTED_MARK } from './instrument.js';
import { moduleIdOf } from '../source/module-id.js';

type Compile = (this: unknown, content: string, filename: string, format?: string) => unknown;
type ResolveFilename = (request: string, parent: unknown, ...rest: unknown[]) => string;

export function installCjsHook(config: LoaderConfig, cache: TransformCache): void {
  // `require('livepatch')` reaches the runtime this process runs under, as
  // the ESM resolve hook does for `import`.
  const statics = Module as unknown as { _resolveFilename: ResolveFilename };
  const resolveFilename = statics._resolveFilename;
  statics._resolveFilename = function (request, parent, ...rest) {
    if (request === 'livepatch' || request.startsWith('livepatch/')) {
      return resolveFilename.call(this, request, { id: OWN_DIST, filename: OWN_DIST, paths: [] }, ...rest);
    }
    return resolveFilename.call(this, request, parent, ...rest);
  };

  const proto = Module.prototype as unknown as { _compile: Compile };
  const original = proto._compile;
  const filter = new ModuleFilter(config);

  proto._compile = function compile(content, filename, format) {
    const esm = format === 'module';
    let instrumented = false;
    const id = moduleIdOf(filename, config.root);
    if (typeof content === 'string' && filter.accepts(id, filename) && !content.slice(0, 4096).includes(INSTRUMENTED_MARK)) {
      try {
        const result = cache.instrument(content, { id, format: esm ? 'esm' : 'cjs' });
        modules.addMeta(result.metaKey, result.meta);
        content = result.code;
        instrumented = true;
      } catch (err) {
        pr('warn', `cannot instrument '${id}' (${filename}): ${(err as Error).message}; it runs unpatchable`);
      }
    }
    // ES modules report LIVE themselves, after top-level await.
    if (!instrumented || esm) return original.call(this, content, filename, format);

    // The module's header is its first statement, so the instance it
    // announces is the first one after `seq`; the modules it requires come later.
    const seq = modules.lastSeq;
    let result: unknown;
    try {
      result = original.call(this, content, filename, format);
    } catch (err) {
      // A module whose body throws goes away, as a module whose init fails does.
      const instance = modules.bySeq(seq + 1);
      if (instance && instance.location === filename) modules.going(instance);
      // The program's own error, from its module body.
      throw err;
    }
    const instance = modules.bySeq(seq + 1);
    if (instance && instance.location === filename) modules.live(instance);
    return result;
  };
}
