/**
 * `livepatch/internal`: the parts the repository's own tests, benchmarks
 * and tools reach below the public API. Nothing here is stable; programs
 * and patches use `livepatch`.
 */
export { catalog } from './errors.js';
export { collectGarbage } from './engine/transition.js';
export { instrument } from './loader/instrument.js';
export { globToRegExp, loadConfig, ModuleFilter } from './loader/config.js';
export { modules, NOP } from './runtime/modules.js';
export { formatOf } from './source/format.js';
export { isValidModuleId, moduleIdOf } from './source/module-id.js';
export { parameterList } from './source/params.js';
export { parseSource } from './source/parse.js';
export { symbolTable } from './source/symbol-table.js';
export { VERSION } from './version.js';
