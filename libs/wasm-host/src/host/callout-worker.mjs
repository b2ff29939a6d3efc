// The callout thread of native chains: a native function runs on the main thread, which blocks
// (Atomics.wait) while this thread makes its `ctx.http` request; the answer comes back over the
// port, signalled by a counter in shared memory.
import { workerData } from 'node:worker_threads';
import { performHttp } from './http-client.mjs';

const { ctlBuffer, port } = workerData;
const ctl = new Int32Array(ctlBuffer);

port.on('message', async (msg) => {
  let answer;
  try {
    answer = await performHttp(msg.request);
  } catch (error) {
    answer = { kind: 'failed', error: `ctx.http failed: ${String(error && error.message ? error.message : error)}` };
  }
  port.postMessage({ id: msg.id, answer });
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
});
