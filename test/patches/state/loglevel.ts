// The system-state patches of the kernel's test_klp_state*.ko: a patch that
// changes a setting (console_loglevel there, `loglevel` of test_klp_core.js
// here) declares the change as a system state, so that a cumulative patch
// can take it over instead of changing it twice, and a patch that does not
// know the change cannot replace it. `migrating` patches take over the
// previous patch's state with getPrevState.
import { definePatch, getPrevState, getState, printk, type StateDefinition } from 'livepatch';

const CONSOLE_LOGLEVEL_STATE = 1;
const MOTORMOUTH = 15;

interface Saved { loglevel: number }

export function loglevelPatch(name: string, version: number, migrating: boolean) {
  const log = (fn: string, text: string) => printk(`${name}: ${fn}: ${text}`);
  const state = () => getState(name, CONSOLE_LOGLEVEL_STATE) as StateDefinition & { data?: Saved };
  const prev = () => (migrating ? getPrevState(CONSOLE_LOGLEVEL_STATE) as (StateDefinition & { data?: Saved }) | undefined : undefined);
  return definePatch({
    name,
    replace: true,
    states: [{ id: CONSOLE_LOGLEVEL_STATE, version }],
    objects: [{
      module: 'test_klp_core.js',
      funcs: [],
      callbacks: {
        prePatch(obj) {
          printk(`${name}: pre_patch_callback: ${obj.module}`);
          if (prev()) {
            log('allocate_loglevel_state', 'space to store console_loglevel already allocated');
          } else {
            log('allocate_loglevel_state', 'allocating space to store console_loglevel');
          }
        },
        postPatch(obj) {
          printk(`${name}: post_patch_callback: ${obj.module}`);
          const previous = prev();
          if (previous) {
            log('fix_console_loglevel', 'taking over the console_loglevel change');
            state().data = previous.data;
            return;
          }
          log('fix_console_loglevel', 'fixing console_loglevel');
          state().data = { loglevel: obj.scope.loglevel };
          obj.scope.loglevel = MOTORMOUTH;
        },
        preUnpatch(obj) {
          printk(`${name}: pre_unpatch_callback: ${obj.module}`);
          log('restore_console_loglevel', 'restoring console_loglevel');
          obj.scope.loglevel = state().data!.loglevel;
        },
        postUnpatch(obj) {
          printk(`${name}: post_unpatch_callback: ${obj.module}`);
          log('free_loglevel_state', 'freeing space for the stored console_loglevel');
          state().data = undefined;
        },
      },
    }],
  });
}
