// Refuse reservations of more than is in stock. The replacement needs the
// module's unexported `stock` map: withScope hands it the module's scope
// table. postPatch repairs the negative levels the bug left behind.
import { definePatch, printk, withScope } from 'livepatch';

interface StockScope { stock: Map<string, number> }

export default definePatch({
  name: 'fix-reserve',
  objects: [{
    module: 'src/stock.js',
    funcs: [{
      oldName: 'reserve',
      oldHash: '05a24da79a569582',
      newFunc: withScope<StockScope>((scope) => (self: unknown, item: string, qty: number) => {
        const have = scope.stock.get(item) ?? 0;
        if (!(qty > 0 && qty <= have)) return { item, error: `cannot reserve ${qty}, ${have} left` };
        scope.stock.set(item, have - qty);
        return { item, left: have - qty };
      }),
    }],
    callbacks: {
      postPatch(obj) {
        for (const [item, have] of obj.scope.stock) {
          if (have < 0) {
            printk(`fix-reserve: ${item} was at ${have}, reset to 0`);
            obj.scope.stock.set(item, 0);
          }
        }
      },
    },
  }],
});
