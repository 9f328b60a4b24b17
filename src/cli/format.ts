/** Plain-text tables for human output: columns padded to the widest cell, no borders. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** kpatch's state labels, `[enabled]`, `[enabling...]`, `[disabling...]`, `[disabled]`, and `(forced)` for good. */
export function stateLabel(patch: { enabled: boolean; transition: boolean; forced: boolean }): string {
  const state = patch.transition ? (patch.enabled ? 'enabling...' : 'disabling...') : (patch.enabled ? 'enabled' : 'disabled');
  return `[${state}]${patch.forced ? ' (forced)' : ''}`;
}

/** The tasks blocking a transition, as `load`, `unload` and `list` print them. */
export function blockingTable(blocking: { task: number; name: string; function: string }[]): string {
  return table(['TASK', 'NAME', 'SUSPENDED IN'], blocking.map((b) => [String(b.task), b.name, b.function]));
}

/** A duration measured in the process: tenths below 10 ms, where they matter. */
export function millis(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}
