import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-greet',
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet', newFunc: (self, name) => `patched hello ${name}` }] }],
});
