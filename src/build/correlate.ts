/**
 * Correlating the functions of two versions of a module, in stages as
 * klp-build's `objtool klp diff` correlates symbols: first a name that is
 * unique in both versions; then, among functions that share a name, kind
 * and once-run scope, the position among them, when both versions have as
 * many; last, equal bodies (the normalised token stream). What is left is
 * added or removed, with a warning when a name is on both sides.
 */
import type { FunctionPlan } from '../source/symbol-table.js';

export interface Correlation {
  pairs: { old: FunctionPlan; new: FunctionPlan }[];
  removed: FunctionPlan[];
  added: FunctionPlan[];
  warnings: string[];
}

const groupBy = <K>(plans: FunctionPlan[], key: (p: FunctionPlan) => K): Map<K, FunctionPlan[]> => {
  const groups = new Map<K, FunctionPlan[]>();
  for (const p of plans) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  return groups;
};

/** `sameBody` says whether two functions' normalised token streams are equal. */
export function correlate(
  oldPlans: FunctionPlan[], newPlans: FunctionPlan[], sameBody: (a: FunctionPlan, b: FunctionPlan) => boolean,
): Correlation {
  const pairs: Correlation['pairs'] = [];
  const paired = new Set<FunctionPlan>();
  const pair = (a: FunctionPlan, b: FunctionPlan) => {
    pairs.push({ old: a, new: b });
    paired.add(a).add(b);
  };
  const left = (plans: FunctionPlan[]) => plans.filter((p) => !paired.has(p));

  // Stage 1: the name is unique in both versions.
  const oldByName = groupBy(oldPlans, (p) => p.symbol.name);
  const newByName = groupBy(newPlans, (p) => p.symbol.name);
  for (const [name, olds] of oldByName) {
    const news = newByName.get(name);
    if (olds.length === 1 && news?.length === 1) pair(olds[0], news[0]);
  }

  // Stage 2: the position among the functions of one name, kind and scope.
  const place = (p: FunctionPlan) => `${p.symbol.name}\0${p.symbol.kind}\0${p.found.scope}`;
  const newByPlace = groupBy(left(newPlans), place);
  for (const [key, olds] of groupBy(left(oldPlans), place)) {
    const news = newByPlace.get(key);
    if (news && news.length === olds.length) olds.forEach((p, i) => pair(p, news[i]));
  }

  // Stage 3: equal bodies under one name.
  for (const a of left(oldPlans)) {
    const b = left(newPlans).find((n) => n.symbol.name === a.symbol.name && sameBody(a, n));
    if (b) pair(a, b);
  }

  const removed = left(oldPlans);
  const added = left(newPlans);
  const warnings = [...new Set(removed.map((p) => p.symbol.name))]
    .filter((name) => added.some((p) => p.symbol.name === name))
    .map((name) => {
      const lines = (plans: FunctionPlan[]) => plans.filter((p) => p.symbol.name === name).map((p) => p.symbol.line).join(', ');
      return `cannot correlate '${name}' (old line ${lines(removed)}, new line ${lines(added)}): treated as removed and added`;
    });
  return { pairs, removed, added, warnings };
}
