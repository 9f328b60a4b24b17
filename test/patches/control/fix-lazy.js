import { definePatch } from 'livepatch';

// src/lazy.js is loaded on the first /lazy request, long after the process started.
export default definePatch({
  name: 'fix-lazy',
  objects: [{ module: 'src/lazy.js', funcs: [{ oldName: 'answer', newFunc: () => 'lazy patched' }] }],
});
