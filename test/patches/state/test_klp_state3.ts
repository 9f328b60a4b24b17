import { loglevelPatch } from './loglevel.ts';
export default loglevelPatch('test_klp_state3', 3, true);
