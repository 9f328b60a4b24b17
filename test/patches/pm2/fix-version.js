import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-version',
  objects: [{ module: 'server.cjs', funcs: [{ oldName: 'version', newFunc: () => 'v2' }] }],
});
