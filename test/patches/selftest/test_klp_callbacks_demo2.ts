// The analog of test_klp_callbacks_demo2.ko: a second patch with callbacks,
// on the same functions as test_klp_callbacks_demo.
import { definePatch } from 'livepatch';
import { demoCallbacks } from './callbacks.ts';

const callbacks = demoCallbacks('test_klp_callbacks_demo2');

export default definePatch({
  name: 'test_klp_callbacks_demo2',
  objects: [
    { module: 'test_klp_core.js', funcs: [{ oldName: 'uptime', newFunc: () => 'demo2 uptime' }], callbacks },
  ],
});
