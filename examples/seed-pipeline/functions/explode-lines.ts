import type { Ctx } from './ctx.js';
import type { LineItem, Order } from './types.js';

export function explodeLines(order: Order, _ctx: Ctx): LineItem[] {
  return order.lines.map((line) => ({ order: order.id, sku: line.sku, qty: line.qty }));
}
