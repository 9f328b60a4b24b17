// The fix changes how prices are computed, so entries the old code cached
// are stale: postPatch clears them when the new code has taken over, and
// postUnpatch when it has gone again. A module that is still COMING has not
// run its body yet: its `cache` binding does not exist, and nothing is cached.
import { definePatch, printk, type CallbackObject } from 'livepatch';

const log = (obj: CallbackObject, what: string, more = '') =>
  printk(`fix-price: ${what}: ${obj.module} is ${obj.state}${more}`);

function clearStale(obj: CallbackObject, what: string) {
  if (obj.state === 'COMING') return log(obj, what);
  log(obj, what, `, clearing ${obj.scope.cache.size} cached price(s)`);
  obj.scope.cache.clear();
}

export default definePatch({
  name: 'fix-price',
  objects: [{
    module: 'cache.js',
    funcs: [{ oldName: 'price', newFunc: (self: unknown, sku: string) => sku.length * 12 }],
    callbacks: {
      prePatch: (obj) => log(obj, 'prePatch'),
      postPatch: (obj) => clearStale(obj, 'postPatch'),
      preUnpatch: (obj) => log(obj, 'preUnpatch'),
      postUnpatch: (obj) => clearStale(obj, 'postUnpatch'),
    },
  }],
});
