import { disablePatch, listPatches, loadPatch, patchedFunctions, waitForTransition } from 'livepatch';
import { farewell, greet } from './messages.js';

const here = (file) => new URL(file, import.meta.url).pathname;
function show(when) {
  console.log(`${when}: ${greet('Ada')} / ${farewell('Ada')}`);
  console.log(`  patches: ${listPatches().map((p) => p.name).join(', ') || '(none)'}`);
  for (const f of patchedFunctions()) console.log(`  ${f.function}: ${f.stack.join(' over ')}`);
}

for (const file of ['fix-greet.ts', 'fix-farewell.ts']) await loadPatch(here(file));
await waitForTransition();
show('two patches');
await loadPatch(here('cumulative-2.ts'));
await waitForTransition();
show('cumulative-2');
await disablePatch('cumulative-2');
await waitForTransition();
show('disabled');
