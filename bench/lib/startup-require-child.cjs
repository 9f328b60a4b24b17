/**
 * Child process of bench/startup.js: the startup of a large real program,
 * `require('typescript')`, plain or under the real loader. Reports the time
 * from process start to "ready" (typescript loaded and usable), the time of
 * the `require` itself, and memory.
 */
'use strict';
const t0 = performance.now();
const ts = require('typescript');
const t1 = performance.now();
// Use it, so that "ready" means usable: transpile a line.
const out = ts.transpileModule('const x: number = 1;', { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
const t2 = performance.now();
if (!out.includes('x = 1')) throw new Error('typescript did not work');
const cpu = process.cpuUsage();
const mem = process.memoryUsage();
// Only a process under livepatch has the runtime global; a plain one must not load livepatch at all.
const lp = globalThis.__livepatch ? require('livepatch') : null;
let symbols = null;
if (lp) {
  const table = lp.moduleSymbols('typescript/lib/typescript.js');
  symbols = table ? table.symbols.filter((s) => s.slot >= 0).length : 0;
}
process.stdout.write(`@@bench-result ${JSON.stringify({
  beforeRequireMs: t0,
  requireMs: t1 - t0,
  readyMs: t1,
  firstUseMs: t2 - t1,
  // CPU time of the whole process (all threads: main, loader, GC, compiler) until ready.
  cpuMs: (cpu.user + cpu.system) / 1000,
  rssMB: mem.rss / 2 ** 20,
  heapUsedMB: mem.heapUsed / 2 ** 20,
  instrumentedFunctions: symbols,
})}\n`);
