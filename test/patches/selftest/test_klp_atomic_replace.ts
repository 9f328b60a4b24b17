// The analog of test_klp_atomic_replace.ko: a cumulative patch that keeps
// only the banner fix and replaces every patch enabled before it.
import { definePatch } from 'livepatch';
import { demoCallbacks } from './callbacks.ts';

export default definePatch({
  name: 'test_klp_atomic_replace',
  replace: true,
  objects: [{
    module: 'test_klp_core.js',
    funcs: [{ oldName: 'banner', newFunc: () => 'this has been live patched by atomic replace' }],
    callbacks: demoCallbacks('test_klp_atomic_replace'),
  }],
});
