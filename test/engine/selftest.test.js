// Transcript tests in the style of the kernel's livepatch selftests
// (test-livepatch.sh, test-callbacks.sh): a real process runs the steps,
// logging each as `% …`, and the ordered log must match exactly.
import test from 'node:test';
import { assertTranscript, fixture, scenario } from '../helpers.js';

const DRIVER = fixture('selftest', 'driver.js');

const DEMO = 'test_klp_callbacks_demo';
const CORE = 'test_klp_core.js';
const MOD = 'test_klp_callbacks_mod.js';
const LIVE = '[MODULE_STATE_LIVE] Normal state';
const COMING = '[MODULE_STATE_COMING] Full formed, running module_init';
const GOING = '[MODULE_STATE_GOING] Going away';

const enabling = (p) => `livepatch: enabling patch '${p}'
  livepatch: '${p}': initializing patching transition`;
const patching = (p) => `livepatch: '${p}': starting patching transition
  livepatch: '${p}': completing patching transition`;
const unpatching = (p) => `livepatch: '${p}': starting unpatching transition
  livepatch: '${p}': completing unpatching transition`;
const cb = (p, callback, module, state = LIVE) => `${p}: ${callback}_callback: ${module} -> ${state}`;

test('1. target module loaded before the patch; patch enabled, disabled; target unloaded', async () => {
  assertTranscript(await scenario(DRIVER, [`import ${MOD}`, `load ${DEMO}.ts`, `call ${MOD} modState`, `disable ${DEMO}`, `call ${MOD} modState`, `going ${MOD}`]), `
    % import ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_init
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${cb(DEMO, 'pre_patch', MOD)}
    ${patching(DEMO)}
    ${cb(DEMO, 'post_patch', CORE)}
    ${cb(DEMO, 'post_patch', MOD)}
    livepatch: '${DEMO}': patching complete
    % call ${MOD} modState
    test_klp_driver: modState() = demo mod state
    % disable ${DEMO}
    livepatch: '${DEMO}': initializing unpatching transition
    ${cb(DEMO, 'pre_unpatch', CORE)}
    ${cb(DEMO, 'pre_unpatch', MOD)}
    ${unpatching(DEMO)}
    ${cb(DEMO, 'post_unpatch', CORE)}
    ${cb(DEMO, 'post_unpatch', MOD)}
    livepatch: '${DEMO}': unpatching complete
    % call ${MOD} modState
    test_klp_driver: modState() = original mod state
    % going ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_exit`);
});

test('2. patch enabled first, then the target module loads (module coming)', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${DEMO}.ts`, `import ${MOD}`, `call ${MOD} modState`, `disable ${DEMO}`, `going ${MOD}`]), `
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${patching(DEMO)}
    ${cb(DEMO, 'post_patch', CORE)}
    livepatch: '${DEMO}': patching complete
    % import ${MOD}
    livepatch: applying patch '${DEMO}' to loading module '${MOD}'
    ${cb(DEMO, 'pre_patch', MOD, COMING)}
    ${cb(DEMO, 'post_patch', MOD, COMING)}
    test_klp_callbacks_mod: test_klp_callbacks_mod_init
    % call ${MOD} modState
    test_klp_driver: modState() = demo mod state
    % disable ${DEMO}
    livepatch: '${DEMO}': initializing unpatching transition
    ${cb(DEMO, 'pre_unpatch', CORE)}
    ${cb(DEMO, 'pre_unpatch', MOD)}
    ${unpatching(DEMO)}
    ${cb(DEMO, 'post_unpatch', CORE)}
    ${cb(DEMO, 'post_unpatch', MOD)}
    livepatch: '${DEMO}': unpatching complete
    % going ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_exit`);
});

test('3. target module unloaded while patched (module going)', async () => {
  assertTranscript(await scenario(DRIVER, [`import ${MOD}`, `load ${DEMO}.ts`, `going ${MOD}`, `disable ${DEMO}`]), `
    % import ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_init
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${cb(DEMO, 'pre_patch', MOD)}
    ${patching(DEMO)}
    ${cb(DEMO, 'post_patch', CORE)}
    ${cb(DEMO, 'post_patch', MOD)}
    livepatch: '${DEMO}': patching complete
    % going ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_exit
    ${cb(DEMO, 'pre_unpatch', MOD, GOING)}
    livepatch: reverting patch '${DEMO}' on unloading module '${MOD}'
    ${cb(DEMO, 'post_unpatch', MOD, GOING)}
    % disable ${DEMO}
    livepatch: '${DEMO}': initializing unpatching transition
    ${cb(DEMO, 'pre_unpatch', CORE)}
    ${unpatching(DEMO)}
    ${cb(DEMO, 'post_unpatch', CORE)}
    livepatch: '${DEMO}': unpatching complete`);
});

test('4. patch enabled and disabled with its target module never loaded', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${DEMO}.ts`, `disable ${DEMO}`]), `
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${patching(DEMO)}
    ${cb(DEMO, 'post_patch', CORE)}
    livepatch: '${DEMO}': patching complete
    % disable ${DEMO}
    livepatch: '${DEMO}': initializing unpatching transition
    ${cb(DEMO, 'pre_unpatch', CORE)}
    ${unpatching(DEMO)}
    ${cb(DEMO, 'post_unpatch', CORE)}
    livepatch: '${DEMO}': unpatching complete`);
});

test('5. pre-patch callback fails on enable: the enable is cancelled, nothing stays patched', async () => {
  assertTranscript(await scenario(DRIVER, [`import ${MOD}`, `load ${DEMO}.ts pre_patch_ret=-19`, 'list', `call ${MOD} modState`, `going ${MOD}`]), `
    % import ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_init
    % load ${DEMO}.ts pre_patch_ret=-19
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    livepatch: pre-patch callback failed for object '${CORE}'
    livepatch: failed to enable patch '${DEMO}'
    livepatch: '${DEMO}': canceling patching transition, going to unpatch
    livepatch: '${DEMO}': completing unpatching transition
    livepatch: '${DEMO}': unpatching complete
    test_klp_driver: load failed: ENODEV ERR_LP_PRE_PATCH_FAILED
    % list
    test_klp_driver: patches: (none)
    % call ${MOD} modState
    test_klp_driver: modState() = original mod state
    % going ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_exit`);
});

test('6. pre-patch callback fails for a loading module: the module is refused', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${DEMO}.ts`, 'param pre_patch_ret=-19', `import ${MOD}`, `disable ${DEMO}`]), `
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${patching(DEMO)}
    ${cb(DEMO, 'post_patch', CORE)}
    livepatch: '${DEMO}': patching complete
    % param pre_patch_ret=-19
    % import ${MOD}
    livepatch: applying patch '${DEMO}' to loading module '${MOD}'
    ${cb(DEMO, 'pre_patch', MOD, COMING)}
    livepatch: pre-patch callback failed for object '${MOD}'
    livepatch: patch '${DEMO}' failed for module '${MOD}', refusing to load module '${MOD}'
    test_klp_driver: import failed: ENODEV ERR_LP_MODULE_REFUSED
    % disable ${DEMO}
    livepatch: '${DEMO}': initializing unpatching transition
    ${cb(DEMO, 'pre_unpatch', CORE)}
    ${unpatching(DEMO)}
    ${cb(DEMO, 'post_unpatch', CORE)}
    livepatch: '${DEMO}': unpatching complete`);
});

const LP1 = 'test_klp_livepatch';
const LP2 = 'test_klp_livepatch2';
const simple = (p, verb) => verb === 'enable'
  ? `${enabling(p)}\n${patching(p)}\nlivepatch: '${p}': patching complete`
  : `livepatch: '${p}': initializing unpatching transition\n${unpatching(p)}\nlivepatch: '${p}': unpatching complete`;

test('7a. two patches stacked on one function; the lower one disabled first', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${LP1}.ts`, `call ${CORE} banner`, `load ${LP2}.ts`, `call ${CORE} banner`, 'funcs',
    `disable ${LP1}`, `call ${CORE} banner`, 'funcs', `disable ${LP2}`, `call ${CORE} banner`, 'funcs']), `
    % load ${LP1}.ts
    ${simple(LP1, 'enable')}
    % call ${CORE} banner
    test_klp_driver: banner() = this has been live patched
    % load ${LP2}.ts
    ${simple(LP2, 'enable')}
    % call ${CORE} banner
    test_klp_driver: banner() = this has been live patched again
    % funcs
    test_klp_driver: patched functions: ${CORE}:banner [${LP2}, ${LP1}]
    % disable ${LP1}
    ${simple(LP1, 'disable')}
    % call ${CORE} banner
    test_klp_driver: banner() = this has been live patched again
    % funcs
    test_klp_driver: patched functions: ${CORE}:banner [${LP2}]
    % disable ${LP2}
    ${simple(LP2, 'disable')}
    % call ${CORE} banner
    test_klp_driver: banner() = original banner
    % funcs
    test_klp_driver: patched functions: (none)`);
});

test('7b. two patches stacked on one function; the top one disabled first', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${LP1}.ts`, `load ${LP2}.ts`, `disable ${LP2}`, `call ${CORE} banner`, 'funcs',
    `disable ${LP1}`, `call ${CORE} banner`, 'funcs']), `
    % load ${LP1}.ts
    ${simple(LP1, 'enable')}
    % load ${LP2}.ts
    ${simple(LP2, 'enable')}
    % disable ${LP2}
    ${simple(LP2, 'disable')}
    % call ${CORE} banner
    test_klp_driver: banner() = this has been live patched
    % funcs
    test_klp_driver: patched functions: ${CORE}:banner [${LP1}]
    % disable ${LP1}
    ${simple(LP1, 'disable')}
    % call ${CORE} banner
    test_klp_driver: banner() = original banner
    % funcs
    test_klp_driver: patched functions: (none)`);
});

const AR = 'test_klp_atomic_replace';
const DEMO2 = 'test_klp_callbacks_demo2';

test('8, 9. atomic replace over two patches, then disabling the replace patch', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${LP1}.ts`, `load ${DEMO2}.ts`, 'funcs', `load ${AR}.ts`, 'funcs', 'list',
    `call ${CORE} banner`, `call ${CORE} uptime`, `disable ${AR}`, `call ${CORE} banner`, `call ${CORE} uptime`, 'funcs', 'list']), `
    % load ${LP1}.ts
    ${simple(LP1, 'enable')}
    % load ${DEMO2}.ts
    ${enabling(DEMO2)}
    ${cb(DEMO2, 'pre_patch', CORE)}
    ${patching(DEMO2)}
    ${cb(DEMO2, 'post_patch', CORE)}
    livepatch: '${DEMO2}': patching complete
    % funcs
    test_klp_driver: patched functions: ${CORE}:banner [${LP1}]; ${CORE}:uptime [${DEMO2}]
    % load ${AR}.ts
    ${enabling(AR)}
    ${cb(AR, 'pre_patch', CORE)}
    ${patching(AR)}
    ${cb(AR, 'post_patch', CORE)}
    livepatch: '${AR}': patching complete
    % funcs
    test_klp_driver: patched functions: ${CORE}:banner [${AR}]
    % list
    test_klp_driver: patches: ${AR}
    % call ${CORE} banner
    test_klp_driver: banner() = this has been live patched by atomic replace
    % call ${CORE} uptime
    test_klp_driver: uptime() = original uptime
    % disable ${AR}
    livepatch: '${AR}': initializing unpatching transition
    ${cb(AR, 'pre_unpatch', CORE)}
    ${unpatching(AR)}
    ${cb(AR, 'post_unpatch', CORE)}
    livepatch: '${AR}': unpatching complete
    % call ${CORE} banner
    test_klp_driver: banner() = original banner
    % call ${CORE} uptime
    test_klp_driver: uptime() = original uptime
    % funcs
    test_klp_driver: patched functions: (none)
    % list
    test_klp_driver: patches: (none)`);
});

test('8b. atomic replace drops a patch whose module is not loaded: the module then loads unpatched', async () => {
  assertTranscript(await scenario(DRIVER, [`load ${DEMO}.ts`, `load ${AR}.ts`, `import ${MOD}`, `call ${MOD} modState`, 'funcs']), `
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${patching(DEMO)}
    ${cb(DEMO, 'post_patch', CORE)}
    livepatch: '${DEMO}': patching complete
    % load ${AR}.ts
    ${enabling(AR)}
    ${cb(AR, 'pre_patch', CORE)}
    ${patching(AR)}
    ${cb(AR, 'post_patch', CORE)}
    livepatch: '${AR}': patching complete
    % import ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_init
    % call ${MOD} modState
    test_klp_driver: modState() = original mod state
    % funcs
    test_klp_driver: patched functions: ${CORE}:banner [${AR}]`);
});

const BUSY = 'test_klp_callbacks_busy.js';
const busyStart = `
    % import ${BUSY}
    test_klp_callbacks_busy: test_klp_callbacks_busy_init
    % start ${BUSY} busymodWork
    test_klp_callbacks_busy: busymod_work_func enter
    % load ${DEMO}.ts
    ${enabling(DEMO)}
    ${cb(DEMO, 'pre_patch', CORE)}
    ${cb(DEMO, 'pre_patch', BUSY)}
    livepatch: '${DEMO}': starting patching transition
    % import ${MOD}
    livepatch: applying patch '${DEMO}' to loading module '${MOD}'
    ${cb(DEMO, 'pre_patch', MOD, COMING)}
    test_klp_callbacks_mod: test_klp_callbacks_mod_init`;

test('10. busy target: a module that loads and goes during a stalled transition, then the enable is reversed', async () => {
  assertTranscript(await scenario(DRIVER, [`import ${BUSY}`, `nowait start ${BUSY} busymodWork`, `nowait load ${DEMO}.ts`, `nowait import ${MOD}`,
    `nowait going ${MOD}`, `disable ${DEMO}`, `release ${BUSY}`, `going ${BUSY}`]), `${busyStart}
    % going ${MOD}
    test_klp_callbacks_mod: test_klp_callbacks_mod_exit
    livepatch: reverting patch '${DEMO}' on unloading module '${MOD}'
    ${cb(DEMO, 'post_unpatch', MOD, GOING)}
    % disable ${DEMO}
    livepatch: '${DEMO}': reversing transition from patching to unpatching
    livepatch: '${DEMO}': starting unpatching transition
    livepatch: '${DEMO}': completing unpatching transition
    ${cb(DEMO, 'post_unpatch', CORE)}
    ${cb(DEMO, 'post_unpatch', BUSY)}
    livepatch: '${DEMO}': unpatching complete
    % release ${BUSY}
    test_klp_callbacks_busy: busymod_work_func exit
    % going ${BUSY}
    test_klp_callbacks_busy: test_klp_callbacks_busy_exit`);
});

test('11. busy target: a module loaded during a stalled transition gets its post-patch when the transition completes', async () => {
  assertTranscript(await scenario(DRIVER, [`import ${BUSY}`, `nowait start ${BUSY} busymodWork`, `nowait load ${DEMO}.ts`, `nowait import ${MOD}`,
    `release ${BUSY}`, `call ${MOD} modState`]), `${busyStart}
    % release ${BUSY}
    test_klp_callbacks_busy: busymod_work_func exit
    livepatch: '${DEMO}': completing patching transition
    ${cb(DEMO, 'post_patch', CORE)}
    ${cb(DEMO, 'post_patch', MOD)}
    ${cb(DEMO, 'post_patch', BUSY)}
    livepatch: '${DEMO}': patching complete
    % call ${MOD} modState
    test_klp_driver: modState() = demo mod state`);
});
