/** The services file's types, as `ssdk generate` would write them (PascalCase names). */

export interface OrderLine {
  sku: string;
  qty: number;
  /** Unit price, cents. */
  price: number;
}

export interface Order {
  id: string;
  customer: string;
  currency: string;
  lines: OrderLine[];
}

export interface PricedOrder {
  id: string;
  customer: string;
  currency: string;
  /** Units ordered (sum of line quantities). */
  items: number;
  /** Cents. */
  total: number;
}

export interface LineItem {
  order: string;
  sku: string;
  qty: number;
}

export interface Payment {
  id: string;
  order: string;
  /** Cents. */
  amount: number;
  method: string;
}

export interface PaymentAlert {
  payment: string;
  order: string;
  amount: number;
  reason: string;
}

export interface Revenue {
  orders: number;
  /** Cents. */
  total: number;
}
