import type { Ctx } from './ctx.js';
import type { Payment, PaymentAlert } from './types.js';

/** Payments that need a second look: $1,000 or more, or paid in crypto. Others: no output. */
export function flagPayment(payment: Payment, _ctx: Ctx): PaymentAlert | undefined {
  let reason: string | undefined;
  if (payment.amount >= 100_000) reason = 'large-amount';
  else if (payment.method === 'crypto') reason = 'crypto-payment';
  if (reason === undefined) return undefined;
  return { payment: payment.id, order: payment.order, amount: payment.amount, reason };
}
