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
 * process alive. A worker thread has no socket of its own: the main
 * thread's reaches its engine (`fleet/threads.ts`). A thread or a process
 * started from one under livepatch takes the patch set it was handed (or
 * the one recorded for its application's group) after the installed
 * patches, before its entry module (`fleet/inherit.ts`).
 */
import { chooseRuntimeDir } from '../control/runtime-dir.js';
import { startControlServer } from '../control/server.js';
import { moduleComing, moduleGoing } from '../engine/core.js';
import { setStallNotice } from '../engine/transition.js';
import type { LoaderConfig } from '../loader/config.js';
import { installHooks } from '../loader/hooks.js';
import { logDebugToStderr } from '../log.js';
import { installRuntime } from '../runtime/install.js';
import { modules } from '../runtime/modules.js';
import { startWatching } from '../watch/watcher.js';
import { applyInheritedPatches } from '../fleet/inherit.js';
import { processWide, serveThread } from '../fleet/threads.js';
import { applyInstalledPatches } from './installed.js';

export async function start(config: LoaderConfig): Promise<void> {
  logDebugToStderr(config.debug);
  installRuntime(config.consistency);
  installHooks(config);
  modules.setHooks({ coming: moduleComing, going: moduleGoing });
  setStallNotice(config.stallNoticeSeconds);
  const { isMainThread } = process.getBuiltinModule('node:worker_threads');
  // The main thread's side of its worker threads exists before any of them can start and say hello.
  const threads = config.control && isMainThread ? processWide(config) : null;
  if (threads) {
    setTimeout(() => startControlServer(config, { handlers: threads }), 0).unref();
  }
  if (config.installed) await applyInstalledPatches(config.installDir);
  if (config.control) await applyInheritedPatches(config.app, isMainThread ? chooseRuntimeDir().dir : null);
  // A worker thread answers the main thread's socket (worker threads share the process's pid), once it runs its patch set.
  if (config.control && !isMainThread) serveThread(config);
  // In the main thread only: the process as a whole converges to the directory.
  if (config.watchDir && isMainThread) await startWatching(config.watchDir);
}
