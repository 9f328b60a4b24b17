import { definePatch } from 'livepatch';

// A typo in the symbol: src/lazy.js has `answer`, not `answr`.
export default definePatch({
  name: 'fix-lazy-typo',
  objects: [{ module: 'src/lazy.js', funcs: [{ oldName: 'answr', newFunc: () => 'lazy patched' }] }],
});
