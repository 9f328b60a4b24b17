import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-greet',
  objects: [{ module: 'messages.js', funcs: [{ oldName: 'greet', newFunc: (self: unknown, name: string) => `Hello, ${name}!` }] }],
});
