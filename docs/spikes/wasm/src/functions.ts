// "User" functions, as a user would write them in functions/*.ts
import type { Ctx } from './chain-runtime';

export interface Order { id: number; customer: string; amount: number; currency: string; items: number; note: string; op?: string; sku?: string }

export function isBig(o: Order): boolean {
  return o.amount > 500;
}

export function enrich(o: Order) {
  return { id: o.id, customer: o.customer.toUpperCase(), cents: Math.round(o.amount * 100), tier: o.amount > 500 ? 'gold' : 'std' };
}

export function splitSentence(s: string): string[] {
  return s.split(' ').filter((w) => w.length > 0);
}

function recurse(n: number): number {
  return recurse(n + 1) + 1;
}

export function risky(o: Order, ctx: Ctx) {
  if (o.op === 'throw') {
    throw new Error(`bad order ${o.id}`);
  }
  if (o.op === 'loop') { for (;;) { /* runaway */ } }
  if (o.op === 'recurse') return recurse(0);
  if (o.op === 'oom') { const a: string[] = []; for (;;) a.push('x'.repeat(1 << 20) + a.length); }
  if (o.op === 'lookup') return { id: o.id, price: ctx.state('prices').lookup(o.sku!) ?? null };
  return o;
}
