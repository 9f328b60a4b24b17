// A second patch of the same function, stacked on top of test_klp_livepatch.
import { definePatch } from 'livepatch';

export default definePatch({
  name: 'test_klp_livepatch2',
  objects: [{
    module: 'test_klp_core.js',
    funcs: [{ oldName: 'banner', newFunc: () => 'this has been live patched again' }],
  }],
});
