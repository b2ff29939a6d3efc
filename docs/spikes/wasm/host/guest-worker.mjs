// Worker side: owns one guest instance. Batches arrive by postMessage (transferred ArrayBuffer) or,
// in 'sab' mode, through a SharedArrayBuffer ring the worker blocks on. Host imports that need an
// async answer (lookup) block the guest with Atomics.wait while the main thread computes the answer.
import { workerData, parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { prepareComponent } from './wasm-host.mjs';

const { file, ctlSab, dataSab, ioSab, transport, lookupVia } = workerData;
const ctl = new Int32Array(ctlSab); // [0] lookup state: 0 pending, 1 answered; [1] answer length (-1 none); [2] lookup request flag; [3..] batch flags
const data = new Uint8Array(dataSab);
const te = new TextEncoder();

function lookup(state, key) {
  Atomics.store(ctl, 0, 0);
  if (lookupVia === 'waitAsync') {
    // request into the shared buffer: u16 state length, state, key
    const s = te.encode(state);
    data[0] = s.length & 255; data[1] = s.length >> 8; data.set(s, 2); data.set(key, 2 + s.length);
    Atomics.store(ctl, 1, s.length + 2 + key.length);
    Atomics.store(ctl, 2, 1);
    Atomics.notify(ctl, 2);
  } else {
    parentPort.postMessage({ type: 'lookup', state, key });
  }
  Atomics.wait(ctl, 0, 0); // block the guest until the main thread answers
  const len = Atomics.load(ctl, 1);
  return len < 0 ? undefined : data.slice(0, len);
}
const imports = { 'ssdk:dataflow/host': { log: (l, m) => parentPort.postMessage({ type: 'log', l, m }), lookup } };
const comp = await prepareComponent(readFileSync(file));
let inst = comp.instantiate(imports);

function run(frame) {
  try {
    return { out: inst.process(frame) };
  } catch (e) {
    inst = comp.instantiate(imports); // a trap poisons the instance: recreate it
    return { error: `${e?.constructor?.name}: ${e?.message ?? e}` };
  }
}

if (transport === 'sab') {
  // [3] = 1 request ready / 2 response ready; [4] = length. io: input and output share the buffer.
  const io = new Uint8Array(ioSab);
  parentPort.postMessage({ type: 'ready' });
  for (;;) {
    let v;
    while ((v = Atomics.load(ctl, 3)) !== 1 && v !== 3) Atomics.wait(ctl, 3, v); // wait for a request
    if (v === 3) break; // stop
    const r = run(io.subarray(0, Atomics.load(ctl, 4)));
    if (r.out) { io.set(r.out, 0); Atomics.store(ctl, 4, r.out.length); } else Atomics.store(ctl, 4, -1);
    Atomics.store(ctl, 3, 2);
    Atomics.notify(ctl, 3);
  }
} else {
  parentPort.on('message', (m) => {
    const r = run(new Uint8Array(m.frame));
    if (r.out) { const buf = r.out.slice().buffer; parentPort.postMessage({ type: 'result', id: m.id, out: buf }, [buf]); }
    else parentPort.postMessage({ type: 'result', id: m.id, error: r.error });
  });
  parentPort.postMessage({ type: 'ready' });
}
