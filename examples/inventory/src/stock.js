// Stock levels, in memory.
const stock = new Map([['apple', 10], ['pear', 2]]);

export function reserve(item, qty) {
  const have = stock.get(item) ?? 0;
  // The bug: nothing stops a reservation of more than there is.
  stock.set(item, have - qty);
  return { item, left: have - qty };
}

export function available(item) {
  return stock.get(item) ?? 0;
}
