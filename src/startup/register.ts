/**
 * `node --import livepatch/register app.js`: makes the process patchable.
 *
 * Order matters: the runtime global exists before any instrumented module
 * can run, the CommonJS hook and the ESM hooks are installed before the
 * application's entry module loads, and everything that could keep the
 * process alive (the loader port) is unref'd.
 */
import { register } from 'node:module';
import { isMainThread, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { moduleComing, moduleGoing } from '../engine/core.js';
import { setStallNotice } from '../engine/transition.js';
import { TransformCache } from '../loader/cache.js';
import type { LoaderMessage } from '../loader/channel.js';
import { installCjsHook } from '../loader/cjs-hook.js';
import { loadConfig } from '../loader/config.js';
import { setLoaderPort } from '../loader/loader-port.js';
import { pr } from '../log.js';
import { installRuntime } from '../runtime/install.js';
import { modules } from '../runtime/modules.js';
// Imported statically: once the ESM hooks are registered, every further
// import is a synchronous round trip to the hooks thread.
import { startControlServer } from '../control/server.js';
import { applyInstalledPatches } from './installed.js';

const config = loadConfig(process.argv[1]);
installRuntime(config.consistency);
installCjsHook(config, new TransformCache(config.cacheDir));

const { port1, port2 } = new MessageChannel();
const receive = (message: LoaderMessage) => {
  if (message.type === 'meta') modules.addMeta(message.key, message.meta);
  else pr('warn', message.text);
};
modules.setMetaSource(() => {
  for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) receive(m.message as LoaderMessage);
});
port1.on('message', receive);
port1.unref();
register('../loader/esm-hooks.js', { parentURL: import.meta.url, data: { config, port: port2 }, transferList: [port2] });
setLoaderPort(port1, config);

// The engine hooks into module loading; patches apply to modules as they come.
modules.setHooks({ coming: moduleComing, going: moduleGoing });
setStallNotice(config.stallNoticeSeconds);

// The control socket, in the main thread only (workers share the pid), and
// the installed patches, enabled before the application's entry module
// loads so that each one applies to its modules as they load.
if (isMainThread && process.env.LIVEPATCH_CONTROL !== '0') startControlServer(config);
if (process.env.LIVEPATCH_INSTALLED !== '0') await applyInstalledPatches(config.installDir);
