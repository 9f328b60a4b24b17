import { definePatch } from 'livepatch';

// The module id misses its directory: the service's module is src/server.js.
export default definePatch({
  name: 'fix-greet-wrong-id',
  objects: [{ module: 'server.js', funcs: [{ oldName: 'greet', newFunc: (self, name) => `patched hello ${name}` }] }],
});
