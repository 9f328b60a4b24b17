import { definePatch } from 'livepatch';

// Refused at enable: the func has no replacement.
export default definePatch({
  name: 'no-new-func',
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet' }] }],
});
