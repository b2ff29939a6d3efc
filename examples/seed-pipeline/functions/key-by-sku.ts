import type { Ctx } from './ctx.js';
import type { LineItem } from './types.js';

export function keyBySku(item: LineItem, _ctx: Ctx): string {
  return item.sku;
}
