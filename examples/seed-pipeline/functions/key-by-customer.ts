import type { Ctx } from './ctx.js';
import type { PricedOrder } from './types.js';

export function keyByCustomer(order: PricedOrder, _ctx: Ctx): string {
  return order.customer;
}
