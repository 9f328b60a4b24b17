// A tiny pricing module with a bug: the discount is applied twice.
const DISCOUNT = 0.1;

function applyDiscount(amount) {
  return amount * (1 - DISCOUNT);
}

export function total(items) {
  const sum = items.reduce((s, i) => s + i.price * i.qty, 0);
  return applyDiscount(applyDiscount(sum));
}
