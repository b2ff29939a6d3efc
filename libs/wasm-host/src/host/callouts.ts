/**
 * `ctx.http` for native chains. A native function runs synchronously on the main thread, so its
 * request is made on a callout thread while the main thread waits (`Atomics.wait`): the
 * function sees a blocking call, as a sandboxed one does. The main thread's event loop stands
 * still meanwhile — the request's own timeout and retries bound how long.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { HttpAccess, HttpAnswer, HttpRequest } from '@ssdk/engine';

let bridge: { worker: Worker; port: MessagePort; ctl: Int32Array; next: number } | undefined;

function open(): NonNullable<typeof bridge> {
  if (bridge) return bridge;
  const ctlBuffer = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./callout-worker.mjs', import.meta.url), { workerData: { ctlBuffer, port: port2 }, transferList: [port2] });
  // Idle, it keeps no process alive.
  worker.unref();
  port1.unref();
  worker.on('error', () => {
    bridge = undefined;
    waitingFor = undefined;
  });
  bridge = { worker, port: port1, ctl: new Int32Array(ctlBuffer), next: 0 };
  return bridge;
}

/**
 * The request this thread waits for, until its answer is taken. A native batch stopped at its
 * time limit stops mid-wait; when it runs again and makes the same request, it waits for that
 * answer instead of making the request twice.
 */
let waitingFor: { id: number; request: string } | undefined;

/** Blocking `ctx.http` for functions on this thread (native chains); one request at a time. */
export const blockingHttp: HttpAccess = (request: HttpRequest): HttpAnswer => {
  const b = open();
  const key = JSON.stringify(request);
  let id: number;
  if (waitingFor?.request === key) id = waitingFor.id;
  else {
    id = ++b.next;
    b.port.postMessage({ id, request });
    waitingFor = { id, request: key };
  }
  // Every attempt may take its timeout, plus the backoff between them, plus slack for the thread to start.
  const limitMs = (request.retries + 1) * request.timeoutMs + 2000 * request.retries + 5000;
  const until = Date.now() + limitMs;
  for (;;) {
    // Read before looking at the port: a message posted after the look changes it, so the wait returns at once.
    const signalled = Atomics.load(b.ctl, 0);
    const m = receiveMessageOnPort(b.port) as { message: { id: number; answer: HttpAnswer } } | undefined;
    if (m?.message.id === id) {
      waitingFor = undefined;
      return m.message.answer;
    }
    if (m) continue; // an answer to an earlier request that gave up waiting
    const left = until - Date.now();
    if (left <= 0) {
      waitingFor = undefined;
      return { kind: 'timeout', error: `ctx.http: ${request.method} ${request.url} got no answer within ${limitMs} ms` };
    }
    Atomics.wait(b.ctl, 0, signalled, Math.min(left, 1000));
  }
};
