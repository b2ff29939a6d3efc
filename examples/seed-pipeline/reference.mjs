#!/usr/bin/env node
// Independent reference for examples/seed-pipeline: plain Node, no dependencies, no ssdk code.
// Reads input/orders.jsonl and input/payments.jsonl, writes the golden outputs to expected/.
//
//   node reference.mjs                # recompute expected/ from input/
//   node reference.mjs --write-input  # regenerate input/ (seeded, deterministic), then expected/
//
// Semantics implemented here (see README.md):
// - valid order: customer not blank, currency USD/EUR/GBP, 1+ lines, every line qty >= 1.
// - priced order: items = sum of qty, total = sum of qty * price (integer cents).
// - orders-by-customer: the priced orders again (update-state passes its record through),
//   now keyed by customer; customer-revenue = {orders, total} per customer.
// - line-items: one per line of each valid order; units-per-sku = sum of qty per SKU.
// - payment-alerts: amount >= 100000 -> "large-amount", else method "crypto" -> "crypto-payment",
//   else nothing.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateInput() {
  const rand = mulberry32(42_4242);
  const int = (n) => Math.floor(rand() * n);
  const catalog = [
    ['KB-101', 4_999], ['MS-220', 2_499], ['MN-270', 18_900], ['HD-330', 7_950], ['CB-010', 899],
    ['DK-500', 12_500], ['LP-900', 129_900], ['CH-040', 1_999], ['WB-150', 5_450], ['SP-075', 3_300],
  ];
  const customers = Array.from({ length: 12 }, (_, i) => `cust-${String(i + 1).padStart(2, '0')}`);
  const currencies = ['USD', 'USD', 'USD', 'EUR', 'EUR', 'GBP'];
  const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

  const orders = [];
  for (let i = 0; i < 120; i++) {
    const id = `ord-${1001 + i}`;
    const lines = [];
    const n = 1 + int(4);
    for (let j = 0; j < n; j++) {
      const [sku, price] = catalog[int(catalog.length)];
      lines.push({ sku, qty: 1 + int(3), price });
    }
    const order = { id, customer: customers[int(customers.length)], currency: currencies[int(currencies.length)], lines };
    // A few broken orders that is-valid-order must drop.
    if (i % 17 === 5) order.lines = [];
    if (i % 23 === 11) order.customer = ' ';
    if (i % 29 === 3 && order.lines.length > 0) order.lines[order.lines.length - 1].qty = 0;
    if (i === 64 || i === 98) order.currency = 'XBT';
    orders.push({ key: id, value: order, timestamp: T0 + i * 30_000 + int(20_000) });
  }

  const methods = ['card', 'card', 'card', 'bank-transfer', 'crypto'];
  const payments = [];
  for (let i = 0; i < 60; i++) {
    const order = orders[2 * i];
    const amount = order.value.lines.reduce((sum, l) => sum + l.qty * l.price, 0);
    const id = `pay-${5001 + i}`;
    payments.push({
      key: id,
      value: { id, order: order.value.id, amount, method: methods[int(methods.length)] },
      timestamp: order.timestamp + 60_000 + int(30_000),
    });
  }

  mkdirSync(join(here, 'input'), { recursive: true });
  writeFileSync(join(here, 'input/orders.jsonl'), orders.map((r) => JSON.stringify(r) + '\n').join(''));
  writeFileSync(join(here, 'input/payments.jsonl'), payments.map((r) => JSON.stringify(r) + '\n').join(''));
}

function readJsonl(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

function writeJsonl(path, values) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, values.map((v) => JSON.stringify(v) + '\n').join(''));
}

function writeSortedState(path, map) {
  mkdirSync(dirname(path), { recursive: true });
  const keys = [...map.keys()].map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const body = keys.map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(map.get(k))}`).join(',\n');
  writeFileSync(path, keys.length === 0 ? '{}\n' : `{\n${body}\n}\n`);
}

function compute() {
  const orders = readJsonl(join(here, 'input/orders.jsonl')).map((r) => r.value);
  const payments = readJsonl(join(here, 'input/payments.jsonl')).map((r) => r.value);

  const valid = orders.filter(
    (o) =>
      o.customer.trim() !== '' &&
      ['USD', 'EUR', 'GBP'].includes(o.currency) &&
      o.lines.length > 0 &&
      o.lines.every((l) => l.qty >= 1),
  );

  const priced = valid.map((o) => ({
    id: o.id,
    customer: o.customer,
    currency: o.currency,
    items: o.lines.reduce((n, l) => n + l.qty, 0),
    total: o.lines.reduce((n, l) => n + l.qty * l.price, 0),
  }));

  const revenue = new Map();
  for (const p of priced) {
    const r = revenue.get(p.customer) ?? { orders: 0, total: 0 };
    revenue.set(p.customer, { orders: r.orders + 1, total: r.total + p.total });
  }

  const lineItems = valid.flatMap((o) => o.lines.map((l) => ({ order: o.id, sku: l.sku, qty: l.qty })));
  const units = new Map();
  for (const item of lineItems) units.set(item.sku, (units.get(item.sku) ?? 0) + item.qty);

  const alerts = [];
  for (const p of payments) {
    const reason = p.amount >= 100_000 ? 'large-amount' : p.method === 'crypto' ? 'crypto-payment' : null;
    if (reason) alerts.push({ payment: p.id, order: p.order, amount: p.amount, reason });
  }

  writeJsonl(join(here, 'expected/priced-orders.jsonl'), priced);
  writeJsonl(join(here, 'expected/orders-by-customer.jsonl'), priced);
  writeJsonl(join(here, 'expected/line-items.jsonl'), lineItems);
  writeJsonl(join(here, 'expected/payment-alerts.jsonl'), alerts);
  writeSortedState(join(here, 'expected/state/customer-revenue.json'), revenue);
  writeSortedState(join(here, 'expected/state/units-per-sku.json'), units);

  const summary = {
    orders: orders.length,
    validOrders: valid.length,
    lineItems: lineItems.length,
    payments: payments.length,
    alerts: alerts.length,
    customers: revenue.size,
  };
  console.log(`seed-pipeline: ${JSON.stringify(summary)}`);
}

if (process.argv.includes('--write-input')) generateInput();
compute();
