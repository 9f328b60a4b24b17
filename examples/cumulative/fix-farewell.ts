import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-farewell',
  objects: [{ module: 'messages.js', funcs: [{ oldName: 'farewell', newFunc: (self: unknown, name: string) => `Goodbye, ${name}.` }] }],
});
