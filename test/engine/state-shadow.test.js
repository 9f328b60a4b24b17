// System states and shadow variables, mirroring the kernel's test-state.sh
// and test-shadow-vars.sh: exact transcripts from real processes.
import test from 'node:test';
import { assertTranscript, fixture, runOk, scenario, transcript } from '../helpers.js';

const DRIVER = fixture('selftest', 'driver.js');

const CORE = 'test_klp_core.js';
const enable = (p, prePatch, postPatch) => `livepatch: enabling patch '${p}'
  livepatch: '${p}': initializing patching transition
  ${p}: pre_patch_callback: ${CORE}
  ${p}: allocate_loglevel_state: ${prePatch}
  livepatch: '${p}': starting patching transition
  livepatch: '${p}': completing patching transition
  ${p}: post_patch_callback: ${CORE}
  ${p}: fix_console_loglevel: ${postPatch}
  livepatch: '${p}': patching complete`;
const disable = (p) => `livepatch: '${p}': initializing unpatching transition
  ${p}: pre_unpatch_callback: ${CORE}
  ${p}: restore_console_loglevel: restoring console_loglevel
  livepatch: '${p}': starting unpatching transition
  livepatch: '${p}': completing unpatching transition
  ${p}: post_unpatch_callback: ${CORE}
  ${p}: free_loglevel_state: freeing space for the stored console_loglevel
  livepatch: '${p}': unpatching complete`;
const ALLOC = 'allocating space to store console_loglevel';
const HAVE = 'space to store console_loglevel already allocated';
const FIX = 'fixing console_loglevel';
const TAKE = 'taking over the console_loglevel change';
const refused = (p) => `livepatch: Livepatch patch (${p}) is not compatible with the already installed livepatches.
  test_klp_driver: load failed: EINVAL ERR_LP_INCOMPATIBLE_STATES`;

test('a patch that modifies a system state, loaded and disabled', async () => {
  assertTranscript(await scenario(DRIVER, ['load state/test_klp_state.ts', `call ${CORE} getLoglevel`, 'disable test_klp_state', `call ${CORE} getLoglevel`]), `
    % load state/test_klp_state.ts
    ${enable('test_klp_state', ALLOC, FIX)}
    % call ${CORE} getLoglevel
    test_klp_driver: getLoglevel() = 15
    % disable test_klp_state
    ${disable('test_klp_state')}
    % call ${CORE} getLoglevel
    test_klp_driver: getLoglevel() = 4`);
});

test('a cumulative patch takes the system state over (getPrevState), and only once', async () => {
  assertTranscript(await scenario(DRIVER, ['load state/test_klp_state.ts', 'load state/test_klp_state2.ts', `call ${CORE} getLoglevel`, 'list', 'disable test_klp_state2', `call ${CORE} getLoglevel`]), `
    % load state/test_klp_state.ts
    ${enable('test_klp_state', ALLOC, FIX)}
    % load state/test_klp_state2.ts
    ${enable('test_klp_state2', HAVE, TAKE)}
    % call ${CORE} getLoglevel
    test_klp_driver: getLoglevel() = 15
    % list
    test_klp_driver: patches: test_klp_state2
    % disable test_klp_state2
    ${disable('test_klp_state2')}
    % call ${CORE} getLoglevel
    test_klp_driver: getLoglevel() = 4`);
});

test('compatible cumulative patches: a version upgrade is accepted, a downgrade refused', async () => {
  assertTranscript(await scenario(DRIVER, ['load state/test_klp_state2.ts', 'load state/test_klp_state3.ts', 'load state/test_klp_state2.ts', 'load state/test_klp_state.ts', 'list', 'disable test_klp_state3', `call ${CORE} getLoglevel`]), `
    % load state/test_klp_state2.ts
    ${enable('test_klp_state2', ALLOC, FIX)}
    % load state/test_klp_state3.ts
    ${enable('test_klp_state3', HAVE, TAKE)}
    % load state/test_klp_state2.ts
    ${refused('test_klp_state2')}
    % load state/test_klp_state.ts
    ${refused('test_klp_state')}
    % list
    test_klp_driver: patches: test_klp_state3
    % disable test_klp_state3
    ${disable('test_klp_state3')}
    % call ${CORE} getLoglevel
    test_klp_driver: getLoglevel() = 4`);
});

test('shadow variables: alloc, get, getOrAlloc, duplicates, constructor failure, free and freeAll with destructors', async () => {
  const { stderr } = await runOk(fixture('shadow', 'main.js'));
  const V = 'test_klp_shadow_vars';
  assertTranscript(transcript(stderr), `
    ${V}: shadow.get(obj1, 0x1234) = undefined
    ${V}: shadow_ctor: obj1 <- var1
    ${V}: shadow_ctor: obj2 <- var2
    ${V}: shadow_ctor: obj1 <- var3
    ${V}: shadow.get(obj1, 0x1234) is sv1: true
    ${V}: shadow.get(obj2, 0x1234) is sv2: true
    ${V}: shadow.get(obj1, 0x5678) is sv3: true
    livepatch: Duplicate shadow variable <Conn, 1234>
    ${V}: shadow.alloc(obj1, 0x1234) again = undefined
    ${V}: shadow.get(obj1, 0x1234) unchanged: {"owner":"obj1","value":"var1"}
    ${V}: shadow_ctor: obj3 <- var4
    ${V}: shadow.getOrAlloc(obj3, 0x1234) again is sv4, no ctor: true
    livepatch: Failed to construct shadow variable <Conn, 5678> (ctor says no)
    ${V}: shadow.alloc with a failing ctor = undefined
    ${V}: shadow.get(obj2, 0x5678) = undefined
    ${V}: shadow_dtor(obj=obj1, data={"owner":"obj1","value":"var1"})
    ${V}: shadow_dtor(obj=obj2, data={"owner":"obj2","value":"var2"})
    ${V}: shadow_dtor(obj=obj3, data={"owner":"obj3","value":"var4"})
    ${V}: after freeAll(0x1234): obj1 undefined, obj2 undefined, obj3 undefined
    ${V}: obj1, 0x5678 survives: {"owner":"obj1","value":"var3"}
    ${V}: shadow_dtor(obj=obj1, data={"owner":"obj1","value":"var3"})
    ${V}: after free(obj1, 0x5678): undefined`);
});
