// The slow endpoint: building a report takes a while (it waits on a slow
// backend), so its requests stay inside buildReport, a patched async
// function, for a long time. The report says which code version it started
// and finished with: per-task consistency makes them equal.
import { cartSummary, codeVersion } from './cart.js';

const BACKEND_MS = Number(process.env.REPORT_MS ?? 1500);

export async function buildReport(user) {
  const startedWith = codeVersion();
  await new Promise((resolve) => setTimeout(resolve, BACKEND_MS));
  const { items, total } = cartSummary(user);
  return { version: startedWith, finishedWith: codeVersion(), items, total };
}
