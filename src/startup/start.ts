/**
 * The start-up wiring of a process or worker thread under livepatch.
 *
 * Order matters: the runtime global exists before any instrumented module
 * can run, the loader hooks are installed before the application's entry
 * module loads, the engine hooks into module loading before any patch can
 * apply, and the installed patches are enabled last, before the entry
 * module, so that each applies to its modules as they load; then the
 * patches of the directory the process converges to (`watch/`), the same way.
 *
 * The control socket opens on the first turn of the event loop, from an
 * unref'd timer: a process that is done before then (a script, a test, a
 * build step) never pays for a socket nobody could reach, and a service has
 * it a moment after its main module ran. Nothing started here keeps a
 * process alive.
 */
import { startControlServer } from '../control/server.js';
import { moduleComing, moduleGoing } from '../engine/core.js';
import { setStallNotice } from '../engine/transition.js';
import type { LoaderConfig } from '../loader/config.js';
import { installHooks } from '../loader/hooks.js';
import { logDebugToStderr } from '../log.js';
import { installRuntime } from '../runtime/install.js';
import { modules } from '../runtime/modules.js';
import { startWatching } from '../watch/watcher.js';
import { applyInstalledPatches } from './installed.js';

export async function start(config: LoaderConfig): Promise<void> {
  logDebugToStderr(config.debug);
  installRuntime(config.consistency);
  installHooks(config);
  modules.setHooks({ coming: moduleComing, going: moduleGoing });
  setStallNotice(config.stallNoticeSeconds);
  if (config.control) {
    setTimeout(() => {
      // In the main thread only: worker threads share the process's pid.
      if (process.getBuiltinModule('node:worker_threads').isMainThread) startControlServer(config);
    }, 0).unref();
  }
  if (config.installed) await applyInstalledPatches(config.installDir);
  // In the main thread only: the process as a whole converges to the directory.
  if (config.watchDir && process.getBuiltinModule('node:worker_threads').isMainThread) await startWatching(config.watchDir);
}
