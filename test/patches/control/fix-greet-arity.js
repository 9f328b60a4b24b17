import { definePatch } from 'livepatch';

// greet(name) is called with one argument: `greeting` would always be undefined.
export default definePatch({
  name: 'fix-greet-arity',
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet', newFunc: (self, name, greeting) => `${greeting} ${name}` }] }],
});
