// Main-thread side of a worker-hosted guest: call(frame) -> Promise<Uint8Array>, a per-call timeout
// that terminates a runaway worker, and the async answers to the guest's synchronous lookups.
import { Worker } from 'node:worker_threads';
const td = new TextDecoder();

export async function startGuest(file, { transport = 'message', lookupVia = 'message', lookup = async () => undefined, ioBytes = 4 << 20 } = {}) {
  const ctlSab = new SharedArrayBuffer(64);
  const dataSab = new SharedArrayBuffer(1 << 20);
  const ioSab = new SharedArrayBuffer(ioBytes);
  const ctl = new Int32Array(ctlSab);
  const data = new Uint8Array(dataSab);
  const io = new Uint8Array(ioSab);
  const worker = new Worker(new URL('./guest-worker.mjs', import.meta.url), {
    workerData: { file, ctlSab, dataSab, ioSab, transport, lookupVia },
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
  let dead = false;
  worker.on('exit', () => { dead = true; });
  const pending = new Map();
  let nextId = 0;
  async function answer(state, key) {
    const v = await lookup(state, key);
    if (v == null) Atomics.store(ctl, 1, -1);
    else { data.set(v, 0); Atomics.store(ctl, 1, v.length); }
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  }
  if (lookupVia === 'waitAsync') {
    (async () => {
      while (!dead) {
        const w = Atomics.waitAsync(ctl, 2, 0);
        if (w.async) await w.value;
        if (dead) break;
        if (Atomics.load(ctl, 2) !== 1) continue;
        Atomics.store(ctl, 2, 0);
        const len = Atomics.load(ctl, 1);
        const sl = data[0] | (data[1] << 8);
        await answer(td.decode(data.subarray(2, 2 + sl)), data.slice(2 + sl, len));
      }
    })();
  }
  await new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'lookup') answer(m.state, m.key);
      else if (m.type === 'result') {
        const p = pending.get(m.id); pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error)); else p.resolve(new Uint8Array(m.out));
      }
    });
    worker.on('error', reject);
  });
  return {
    worker,
    call(frame, { timeoutMs = 1000 } = {}) {
      let timer;
      const result = transport === 'sab'
        ? (async () => {
            io.set(frame, 0); Atomics.store(ctl, 4, frame.length);
            Atomics.store(ctl, 3, 1); Atomics.notify(ctl, 3);
            const w = Atomics.waitAsync(ctl, 3, 1);
            if (w.async) await w.value;
            const len = Atomics.load(ctl, 4);
            Atomics.store(ctl, 3, 0);
            if (len < 0) throw new Error('guest failed');
            return io.slice(0, len);
          })()
        : new Promise((resolve, reject) => {
            const id = nextId++;
            pending.set(id, { resolve, reject });
            const copy = frame.slice();
            worker.postMessage({ id, frame: copy.buffer }, [copy.buffer]);
          });
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`guest timed out after ${timeoutMs} ms`), { code: 'TIMEOUT' })), timeoutMs);
      });
      return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
    },
    async stop() {
      if (transport === 'sab') { Atomics.store(ctl, 3, 3); Atomics.notify(ctl, 3); }
      await worker.terminate();
    },
  };
}
