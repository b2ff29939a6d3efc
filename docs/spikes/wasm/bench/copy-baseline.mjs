// What copying a result out of wasm memory costs: ArrayBuffer.slice (jco's glue) vs Buffer.allocUnsafe + set.
const mem = new WebAssembly.Memory({ initial: 60 });
const ways = {
  slice: (size) => new Uint8Array(mem.buffer.slice(1024 + size, 1024 + 2 * size)),
  allocUnsafe: (size) => { const b = Buffer.allocUnsafe(size); b.set(new Uint8Array(mem.buffer, 1024 + size, size)); return b; },
  allocUnsafeSlow: (size) => { const b = Buffer.allocUnsafeSlow(size); b.set(new Uint8Array(mem.buffer, 1024 + size, size)); return b; },
};
for (const size of [130, 13000, 130000, 1300000]) {
  for (const [name, f] of Object.entries(ways)) {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      let n = 0; const t0 = performance.now(); let t;
      do { f(size); n++; } while ((t = performance.now() - t0) < 300);
      best = Math.min(best, t * 1e6 / n);
    }
    console.log(String(size).padStart(8), name.padEnd(16), Math.round(best), 'ns');
  }
}
