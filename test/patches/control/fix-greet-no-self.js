import { definePatch } from 'livepatch';

// self is left out: greet(name) would get the original's this as `name`.
export default definePatch({
  name: 'fix-greet-no-self',
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet', newFunc: (name) => `patched hello ${name}` }] }],
});
