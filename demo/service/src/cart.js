// Carts live in memory: a restart loses them. Two bugs, fixed by the
// demo's patches: computeTotal applies the discount twice (fix-1), and
// addItem accepts negative quantities (fix-2).
export const carts = new Map();
const PRICES = { book: 12, pen: 2, lamp: 30 };
const DISCOUNT = 0.1;

function applyDiscount(amount) {
  return amount * (1 - DISCOUNT);
}

function subtotal(cart) {
  let sum = 0;
  for (const [sku, qty] of cart) sum += PRICES[sku] * qty;
  return sum;
}

export function itemCount(cart) {
  let n = 0;
  for (const qty of cart.values()) n += qty;
  return n;
}

export function computeTotal(cart) {
  return Math.round(applyDiscount(applyDiscount(subtotal(cart))) * 100) / 100;
}

export function addItem(user, sku, qty) {
  if (!(sku in PRICES) || !Number.isInteger(qty)) return { status: 400, error: 'bad item' };
  let cart = carts.get(user);
  if (!cart) carts.set(user, (cart = new Map()));
  cart.set(sku, (cart.get(sku) ?? 0) + qty);
  return { status: 200, items: itemCount(cart) };
}

export function cartSummary(user) {
  const cart = carts.get(user) ?? new Map();
  return { items: itemCount(cart), total: computeTotal(cart) };
}

export function codeVersion() {
  return 'v1';
}
