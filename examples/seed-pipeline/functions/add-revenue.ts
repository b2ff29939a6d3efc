import type { Ctx } from './ctx.js';
import type { PricedOrder, Revenue } from './types.js';

/** Adds the order to its customer's revenue (state customer-revenue, keyed by customer). */
export function addRevenue(order: PricedOrder, ctx: Ctx): void {
  ctx.state<Revenue>('customer-revenue').update((previous) => ({
    orders: (previous?.orders ?? 0) + 1,
    total: (previous?.total ?? 0) + order.total,
  }));
}
