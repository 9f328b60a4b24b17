// The analog of test_klp_callbacks_demo.ko: callbacks on the core object
// (vmlinux there), on a loadable target module, and on a module whose
// work function can hold a transition open.
import { definePatch } from 'livepatch';
import { demoCallbacks } from './callbacks.ts';

const callbacks = demoCallbacks('test_klp_callbacks_demo');

export default definePatch({
  name: 'test_klp_callbacks_demo',
  objects: [
    { module: 'test_klp_core.js', funcs: [{ oldName: 'uptime', newFunc: () => 'demo uptime' }], callbacks },
    { module: 'test_klp_callbacks_mod.js', funcs: [{ oldName: 'modState', newFunc: () => 'demo mod state' }], callbacks },
    { module: 'test_klp_callbacks_busy.js', funcs: [{ oldName: 'busymodWork', newFunc: async () => {} }], callbacks },
  ],
});
