import type { Ctx } from './ctx.js';
import type { LineItem } from './types.js';

/** Units sold per SKU (state units-per-sku, keyed by SKU). */
export function addUnits(item: LineItem, ctx: Ctx): void {
  ctx.state<number>('units-per-sku').increment(item.qty);
}
