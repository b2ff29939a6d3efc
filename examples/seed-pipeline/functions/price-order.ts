import type { Ctx } from './ctx.js';
import type { Order, PricedOrder } from './types.js';

/** Totals an order in integer cents, so sums stay exact. */
export function priceOrder(order: Order, _ctx: Ctx): PricedOrder {
  let items = 0;
  let total = 0;
  for (const line of order.lines) {
    items += line.qty;
    total += line.qty * line.price;
  }
  return { id: order.id, customer: order.customer, currency: order.currency, items, total };
}
