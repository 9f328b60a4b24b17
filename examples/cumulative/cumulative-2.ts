// Release 2 of the fixes, as one cumulative patch: it keeps the greet fix
// (reworded) and drops the farewell fix. `replace: true` makes it replace
// every patch enabled before it, in one transition.
import { definePatch } from 'livepatch';

export default definePatch({
  name: 'cumulative-2',
  replace: true,
  objects: [{ module: 'messages.js', funcs: [{ oldName: 'greet', newFunc: (self: unknown, name: string) => `Hi, ${name}!` }] }],
});
