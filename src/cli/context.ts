/**
 * What a command of the `livepatch` CLI receives: its parsed arguments, its
 * output streams and environment, and its usage line. Commands take
 * everything through it, throw coded errors, and never exit (`index.ts`
 * owns the exit policy).
 */
export interface CommandContext {
  /** Positional arguments after the command name. */
  rest: string[];
  options: Record<string, string | boolean | undefined>;
  json: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Writes to stdout as is: attribute values, progress drawn in place. */
  write: (text: string) => void;
  /** stdout is a terminal, so progress can be redrawn in place. */
  tty: boolean;
  env: NodeJS.ProcessEnv;
  /** Where the control sockets of processes under livepatch are (`control/runtime-dir.ts`). */
  runtimeDir: string;
  /** `usage: livepatch <synopsis>`, from the command table: the detail of this command's ERR_LP_USAGE. */
  usage: string;
}
