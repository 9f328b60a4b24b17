// fix-2, cumulative: keeps fix-1's discount fix and its buildReport, adds
// the missing check on quantities, and drops the hotfix note from cart
// summaries (cartSummary is back to the original code). `replace: true`
// replaces fix-1 in one transition.
import { definePatch, withScope } from 'livepatch';

type Cart = Map<string, number>;
interface CartScope {
  PRICES: Record<string, number>;
  cartSummary(user: string): { items: number; total: number };
  codeVersion(): string;
  carts: Map<string, Cart>;
  applyDiscount(amount: number): number;
  subtotal(cart: Cart): number;
  itemCount(cart: Cart): number;
}

export default definePatch({
  name: 'fix-2',
  replace: true,
  objects: [{
    module: 'src/cart.js',
    funcs: [
      {
        oldName: 'computeTotal',
        newFunc: withScope<CartScope>((scope) => (self: unknown, cart: Cart) =>
          Math.round(scope.applyDiscount(scope.subtotal(cart)) * 100) / 100),
      },
      {
        oldName: 'addItem',
        newFunc: withScope<CartScope>((scope) => (self: unknown, user: string, sku: string, qty: number) => {
          if (!(sku in scope.PRICES) || !Number.isInteger(qty) || qty <= 0) return { status: 400, error: 'bad item' };
          let cart = scope.carts.get(user);
          if (!cart) scope.carts.set(user, (cart = new Map()));
          cart.set(sku, (cart.get(sku) ?? 0) + qty);
          return { status: 200, items: scope.itemCount(cart) };
        }),
      },
      { oldName: 'codeVersion', newFunc: () => 'fix-2' },
    ],
  }, {
    module: 'src/report.js',
    funcs: [{
      oldName: 'buildReport',
      newFunc: withScope<{ BACKEND_MS: number; cartSummary: CartScope['cartSummary']; codeVersion(): string }>((scope) =>
        async (self: unknown, user: string) => {
          const startedWith = scope.codeVersion();
          await new Promise((resolve) => setTimeout(resolve, scope.BACKEND_MS));
          const { items, total } = scope.cartSummary(user);
          return { version: startedWith, finishedWith: scope.codeVersion(), items, total };
        }),
    }],
  }],
});
