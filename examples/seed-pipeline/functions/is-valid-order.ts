import type { Ctx } from './ctx.js';
import type { Order } from './types.js';

const CURRENCIES = new Set(['USD', 'EUR', 'GBP']);

/** An order we can fulfil: a customer, a known currency, and at least one line of 1+ units. */
export function isValidOrder(order: Order, _ctx: Ctx): boolean {
  return (
    order.customer.trim() !== '' &&
    CURRENCIES.has(order.currency) &&
    order.lines.length > 0 &&
    order.lines.every((line) => line.qty >= 1)
  );
}
