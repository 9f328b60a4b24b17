import { loglevelPatch } from './loglevel.ts';
export default loglevelPatch('test_klp_state', 1, false);
