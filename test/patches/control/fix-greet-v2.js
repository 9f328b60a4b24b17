import { definePatch } from 'livepatch';

// A cumulative follow-up to fix-greet: atomic replace frees fix-greet.
export default definePatch({
  name: 'fix-greet-v2',
  replace: true,
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet', newFunc: (self, name) => `patched again hello ${name}` }] }],
});
