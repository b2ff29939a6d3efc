// Guest glue: one call per batch. Scans the input frame by offsets (nothing decoded that is not
// needed), runs the service chain per record (values stay JS objects between steps), writes outputs
// by copying the untouched parts of the input record (key, timestamp, headers) and splicing in the
// new value, and reports errors per record (index + message/stack) so the rest of the batch goes on.
// Written for interpreters (StarlingMonkey has no JIT inside wasm, QuickJS never has one): plain
// byte reads, no DataView, no per-record objects beyond what the user function needs.
import { utf8Decode, utf8Encode, FRAME_VERSION } from './frame';
import { hostLog, hostLookup } from 'ssdk-host';

export type StepKind = 'filter' | 'map' | 'filter-map' | 'flat-map';
export interface Step { kind: StepKind; name: string; fn: (value: any, ctx: Ctx) => any }

export interface Ctx {
  key(): string | undefined;
  log(...args: unknown[]): void;
  state(name: string): { lookup(key: string | number | boolean): any };
}

let curIn: Uint8Array = new Uint8Array(0);
let curKeyStart = -1;
let curKeyEnd = -1;
const ctx: Ctx = {
  key: () => (curKeyStart < 0 ? undefined : utf8Decode(curIn.subarray(curKeyStart, curKeyEnd))),
  log: (...args: unknown[]) => hostLog(2, args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
  state: (name: string) => ({
    lookup(key) {
      const r = hostLookup(name, utf8Encode(String(key)));
      return r == null ? undefined : JSON.parse(utf8Decode(r)); // StarlingMonkey: undefined, QuickJS: null
    },
  }),
};

const u32 = (b: Uint8Array, p: number) => (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 16777216;

let out = new Uint8Array(65536);
let o = 0;
function ensure(n: number) {
  if (o + n <= out.length) return;
  let size = out.length * 2;
  while (size < o + n) size *= 2;
  const nb = new Uint8Array(size);
  nb.set(out.subarray(0, o));
  out = nb;
}
function w32(v: number) { out[o] = v & 255; out[o + 1] = (v >>> 8) & 255; out[o + 2] = (v >>> 16) & 255; out[o + 3] = (v >>> 24) & 255; o += 4; }

export function makeProcess(steps: Step[]) {
  const nSteps = steps.length;
  return function process(b: Uint8Array): Uint8Array {
    if (b[0] !== FRAME_VERSION) throw new Error('bad frame version');
    const n = u32(b, 1);
    let p = 5;
    o = 0;
    ensure(b.length + 64);
    out[o++] = FRAME_VERSION;
    o += 4; // count, patched at the end
    let outCount = 0;
    const errors: { index: number; message: string }[] = [];
    curIn = b;
    for (let i = 0; i < n; i++) {
      // scan one record
      const start = p;
      const flags = b[p++];
      curKeyStart = -1;
      if (flags & 1) { const kl = u32(b, p); p += 4; curKeyStart = p; p += kl; curKeyEnd = p; }
      const vlenAt = p;
      const vs = p + 4;
      const ve = vs + u32(b, p);
      p = ve + 8; // timestamp
      const hc = b[p] | (b[p + 1] << 8);
      p += 2;
      for (let h = 0; h < hc; h++) { p += 2 + (b[p] | (b[p + 1] << 8)); p += 4 + u32(b, p); }
      const end = p;
      try {
        const v0 = JSON.parse(utf8Decode(b.subarray(vs, ve)));
        let values: any[] = [v0];
        for (let s = 0; s < nSteps && values.length; s++) {
          const st = steps[s];
          const kind = st.kind;
          if (values.length === 1 && kind !== 'flat-map') {
            // common case, no allocation
            const v = values[0];
            const r = st.fn(v, ctx);
            if (kind === 'filter') { if (!r) values = []; }
            else if (kind === 'map') values[0] = r;
            else if (r === undefined || r === null) values = []; else values[0] = r;
            continue;
          }
          const next: any[] = [];
          for (const v of values) {
            const r = st.fn(v, ctx);
            if (kind === 'filter') { if (r) next.push(v); }
            else if (kind === 'map') next.push(r);
            else if (kind === 'filter-map') { if (r !== undefined && r !== null) next.push(r); }
            else for (const x of r) next.push(x);
          }
          values = next;
        }
        for (let k = 0; k < values.length; k++) {
          const v = values[k];
          if (v === v0) {
            // value unchanged (filters only): copy the input record as is
            ensure(4 + end - start);
            w32(i);
            out.set(b.subarray(start, end), o); o += end - start;
          } else {
            const nv = utf8Encode(JSON.stringify(v));
            ensure(8 + (vlenAt - start) + nv.length + (end - ve));
            w32(i);
            out.set(b.subarray(start, vlenAt), o); o += vlenAt - start;
            w32(nv.length);
            out.set(nv, o); o += nv.length;
            out.set(b.subarray(ve, end), o); o += end - ve;
          }
          outCount++;
        }
      } catch (e: any) {
        errors.push({ index: i, message: String(e && e.stack ? `${e}\n${e.stack}` : e) });
      }
    }
    const save = o; o = 1; w32(outCount); o = save;
    ensure(4); w32(errors.length);
    for (const e of errors) { const m = utf8Encode(e.message); ensure(8 + m.length); w32(e.index); w32(m.length); out.set(m, o); o += m.length; }
    curIn = new Uint8Array(0);
    return out.subarray(0, o);
  };
}
