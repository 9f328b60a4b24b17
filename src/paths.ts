/**
 * Where livepatch's own entry points are, for the code that starts processes
 * under livepatch (`livepatch run`, the demo, the install check). Importing
 * this module starts nothing.
 */
import { fileURLToPath } from 'node:url';

/** `livepatch/register`: what `node --import` takes to run a program under livepatch. */
export const REGISTER = fileURLToPath(new URL('./startup/register.js', import.meta.url));

/** The public API, as a URL a generated ES module can import. */
export const INDEX_URL = new URL('./index.js', import.meta.url).href;

/** The `livepatch` command. */
export const CLI = fileURLToPath(new URL('./cli/index.js', import.meta.url));
