/**
 * Where the start-up entry point is, for the commands that start processes
 * under livepatch (`livepatch run`, the demo, the install check). Importing
 * this module starts nothing; importing `register.js` makes the process
 * patchable.
 */
import { fileURLToPath } from 'node:url';

/** `livepatch/register`: what `node --import` takes to run a program under livepatch. */
export const REGISTER = fileURLToPath(new URL('./register.js', import.meta.url));
