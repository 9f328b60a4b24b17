import { definePatch } from 'livepatch';

// Refused at enable: the func has no replacement. The type checker says so
// too, which is what the expect-error below checks.
export default definePatch({
  name: 'no-new-func',
  // @ts-expect-error newFunc is missing
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet' }] }],
});
