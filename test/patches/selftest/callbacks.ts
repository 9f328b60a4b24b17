// Callbacks that log as the kernel's test_klp_callbacks_demo does:
// `<patch>: <callback>: <module> -> <module state>`. pre_patch returns the
// `pre_patch_ret` parameter, read when it runs (a module parameter there).
import { printk, type CallbackObject, type Callbacks } from 'livepatch';

const MODULE_STATE = {
  LIVE: '[MODULE_STATE_LIVE] Normal state',
  COMING: '[MODULE_STATE_COMING] Full formed, running module_init',
  GOING: '[MODULE_STATE_GOING] Going away',
};

declare global { var klpParams: Record<string, number | string> }

export function demoCallbacks(patch: string): Callbacks {
  const info = (callback: string, obj: CallbackObject) =>
    printk(`${patch}: ${callback}: ${obj.module} -> ${MODULE_STATE[obj.state]}`);
  return {
    prePatch(obj) {
      info('pre_patch_callback', obj);
      return Number(globalThis.klpParams?.pre_patch_ret ?? 0);
    },
    postPatch: (obj) => info('post_patch_callback', obj),
    preUnpatch: (obj) => info('pre_unpatch_callback', obj),
    postUnpatch: (obj) => info('post_unpatch_callback', obj),
  };
}
