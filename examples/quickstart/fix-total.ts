// The fix, as a patch module: `total` applies the discount once. The
// replacement reaches the unexported `applyDiscount` through the module's
// scope table.
import { definePatch, withScope } from 'livepatch';

interface Item { price: number; qty: number }
interface PricesScope { applyDiscount(amount: number): number }

export default definePatch({
  name: 'fix-total',
  objects: [{
    module: 'prices.js',
    funcs: [{
      oldName: 'total',
      newFunc: withScope<PricesScope>((scope) => (self: unknown, items: Item[]) =>
        scope.applyDiscount(items.reduce((s, i) => s + i.price * i.qty, 0))),
    }],
  }],
});
