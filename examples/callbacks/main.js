// The patch is enabled twice: once on a loaded module (LIVE), and once
// before the module loads, so that it is patched as it loads (COMING).
import { disablePatch, loadPatch, moduleGoing, waitForTransition } from 'livepatch';

const patch = new URL('./fix-price.ts', import.meta.url).pathname;
let { price } = await import('./cache.js');
console.log(`before:  price('book') = ${price('book')}`);
await loadPatch(patch);
await waitForTransition();
console.log(`patched: price('book') = ${price('book')}`);
await disablePatch('fix-price');
await waitForTransition();
console.log(`removed: price('book') = ${price('book')}`);

moduleGoing('cache.js');
await loadPatch(patch);
await waitForTransition();
({ price } = await import('./cache.js?reloaded'));
console.log(`reloaded and patched: price('book') = ${price('book')}`);
