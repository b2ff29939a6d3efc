import { encodeInput } from '../build/frame.native.mjs';
// ~100-byte JSON records
export function makeOrders(n, seed = 1, extra = () => ({})) {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const te = new TextEncoder();
  const out = [];
  for (let i = 0; i < n; i++) {
    const o = { id: i, customer: `cust-${String(Math.floor(rnd() * 10000)).padStart(4, '0')}`, amount: Math.round(rnd() * 100000) / 100, currency: 'EUR', items: 1 + Math.floor(rnd() * 9), note: 'lorem ipsum dolor', ...extra(i) };
    out.push({ key: te.encode(o.customer), value: te.encode(JSON.stringify(o)), timestamp: 1700000000000 + i, headers: [] });
  }
  return out;
}
export { encodeInput };
