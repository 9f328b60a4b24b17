/**
 * The start-up wiring of a process or worker thread under livepatch.
 *
 * Order matters: the runtime global exists before any instrumented module
 * can run, the loader hooks are installed before the application's entry
 * module loads, the engine hooks into module loading before any patch can
 * apply, and the installed patches are enabled last, before the entry
 * module, so that each applies to its modules as they load. Nothing started
 * here keeps the process alive.
 */
import { isMainThread } from 'node:worker_threads';
import { startControlServer } from '../control/server.js';
import { moduleComing, moduleGoing } from '../engine/core.js';
import { setStallNotice } from '../engine/transition.js';
import type { LoaderConfig } from '../loader/config.js';
import { installHooks } from '../loader/hooks.js';
import { installRuntime } from '../runtime/install.js';
import { modules } from '../runtime/modules.js';
import { applyInstalledPatches } from './installed.js';

export async function start(config: LoaderConfig): Promise<void> {
  installRuntime(config.consistency);
  installHooks(config);
  modules.setHooks({ coming: moduleComing, going: moduleGoing });
  setStallNotice(config.stallNoticeSeconds);
  // The control socket, in the main thread only (workers share the pid).
  if (isMainThread && process.env.LIVEPATCH_CONTROL !== '0') startControlServer(config);
  if (process.env.LIVEPATCH_INSTALLED !== '0') await applyInstalledPatches(config.installDir);
}
