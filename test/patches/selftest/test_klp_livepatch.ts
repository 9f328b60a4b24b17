// The analog of test_klp_livepatch.ko: replaces one function.
import { definePatch } from 'livepatch';

export default definePatch({
  name: 'test_klp_livepatch',
  objects: [{
    module: 'test_klp_core.js',
    funcs: [{ oldName: 'banner', newFunc: () => 'this has been live patched' }],
  }],
});
