// A second patch of compute(), for stacking and busy tests.
import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix2',
  objects: [{ module: 'service.js', funcs: [{ oldName: 'compute', newFunc: () => 'v3' }] }],
});
