// fix-1, a hotfix: the discount was applied twice. Cart summaries also
// carry a note while the hotfix is in place. buildReport, where slow
// requests wait, is part of the patch so that those requests hold the
// transition open and finish on the code they started with.
import { definePatch, withScope } from 'livepatch';

type Cart = Map<string, number>;
interface CartScope {
  applyDiscount(amount: number): number;
  subtotal(cart: Cart): number;
  cartSummary(user: string): { items: number; total: number };
  codeVersion(): string;
}

export default definePatch({
  name: 'fix-1',
  objects: [
    {
      module: 'src/cart.js',
      funcs: [
        {
          oldName: 'computeTotal',
          newFunc: withScope<CartScope>((scope) => (self: unknown, cart: Cart) =>
            Math.round(scope.applyDiscount(scope.subtotal(cart)) * 100) / 100),
        },
        {
          oldName: 'cartSummary',
          newFunc: withScope<CartScope & { carts: Map<string, Cart>; itemCount(cart: Cart): number; computeTotal(cart: Cart): number }>((scope) =>
            (self: unknown, user: string) => {
              const cart = scope.carts.get(user) ?? new Map();
              return { items: scope.itemCount(cart), total: scope.computeTotal(cart), note: 'hotfix: discount applied once' };
            }),
        },
        { oldName: 'codeVersion', newFunc: () => 'fix-1' },
      ],
    },
    {
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
    },
  ],
});
