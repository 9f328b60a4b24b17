import { definePatch } from 'livepatch';

// Built against another version of src/lazy.js: its hash no longer matches,
// as a CVE fix left installed after the package it fixes was upgraded.
export default definePatch({
  name: 'fix-lazy-stale',
  objects: [{ module: 'src/lazy.js', funcs: [{ oldName: 'answer', oldHash: '0123456789abcdef', newFunc: () => 'lazy patched' }] }],
});
