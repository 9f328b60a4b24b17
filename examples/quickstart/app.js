// Run with `livepatch run app.js`: prices a cart, loads the fix into the
// running process, prices it again through the same function reference,
// then unloads the fix.
import { fileURLToPath } from 'node:url';
import { loadPatch, disablePatch, waitForTransition } from 'livepatch';
import { total } from './prices.js';

const cart = [{ price: 100, qty: 2 }];
const price = total; // a reference captured before the patch
console.log(`before the patch: total = ${price(cart).toFixed(2)} (expected 180.00)`);
await loadPatch(fileURLToPath(new URL('./fix-total.ts', import.meta.url)));
await waitForTransition();
console.log(`with fix-total:   total = ${price(cart).toFixed(2)}`);
await disablePatch('fix-total');
await waitForTransition();
console.log(`after unloading:  total = ${price(cart).toFixed(2)}`);
