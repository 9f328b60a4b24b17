import { loglevelPatch } from './loglevel.ts';
export default loglevelPatch('test_klp_state2', 2, true);
