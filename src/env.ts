/**
 * livepatch's environment variables, read the same way by every part: an
 * empty value is an unset one, and a flag takes the usual boolean
 * spellings. A value that is not one of them is refused, never guessed at.
 */
import { describeValue, lpError } from './errors.js';

const FLAGS = new Map([
  ['1', true], ['true', true], ['yes', true], ['on', true],
  ['0', false], ['false', false], ['no', false], ['off', false],
]);

/** The value of variable `name`; undefined when it is unset or empty. */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === '' ? undefined : value;
}

/** Whether `value` spells a boolean (1/0, true/false, yes/no, on/off, in any case). */
export function flagOf(value: string): boolean | undefined {
  return FLAGS.get(value.toLowerCase());
}

/** Flag `name`: undefined when unset or empty; ERR_LP_CONFIG when it is not a boolean. */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = envValue(env, name);
  if (value === undefined) return undefined;
  const flag = flagOf(value);
  if (flag === undefined) {
    throw lpError('ERR_LP_CONFIG', { detail: `${name}=${describeValue(value)} is not a boolean: use 1 or 0, true or false, yes or no, on or off` });
  }
  return flag;
}
