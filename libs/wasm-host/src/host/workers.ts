/**
 * The threads guests run in: a small pool of workers (default one per CPU), each instance pinned
 * to one of them, plus a warm spare ready to take over. Instances are spread over the workers, so
 * two units' batches run at the same time on two cores; calls to one worker take turns.
 *
 * The main thread never blocks: it posts the batch and waits with `Atomics.waitAsync` for the
 * worker's signals — serving the guest's `lookup` and `sql` calls meanwhile — or until the time
 * limit, when it terminates that worker (the only way to stop a runaway wasm loop), puts the
 * spare in its place and starts a new spare. Only the instances that worker held are made again.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { TranspiledComponent } from './transpile.ts';

const TO_WORKER = 0;
const TO_MAIN = 1;

// ES2024, in Node since 16; the repo's `lib` is ES2023.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, t: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

// Types only in @types/node: the global's value is not declared.
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;

export type LookupScope = { tag: 'committed' } | { tag: 'current'; window: [number, number] | null };

export interface CallHandlers {
  lookup(state: string, keys: string[], scope: LookupScope): Array<Uint8Array | null>;
  log(level: string, operator: string, message: string): void;
  /**
   * `ctx.sql`: runs a query (params as a JSON array) and answers the guest's JSON. `timeoutMs`:
   * the call's time left — SQL time counts against `function-timeout`, so the query must end
   * within it (the call times out at that moment regardless).
   */
  sql?(query: string, params: string, timeoutMs: number): Promise<string>;
  /** `ctx.http`: makes the request (JSON) and answers the guest's JSON. */
  http?(request: string): Promise<string>;
}

/** What the guest worker answers locally for an instance: granted clock, randomness, variables. */
export interface GuestCapabilities {
  clock?: boolean;
  random?: boolean;
  /** Granted variable → its value (null: unset). */
  env?: Record<string, string | null>;
  /** Some step may call `ctx.http` (the main thread checks the host). */
  http?: boolean;
}

export interface CallRequest {
  component: TranspiledComponent;
  instance: number;
  fn: 'process' | 'flush';
  frame: Uint8Array;
  window?: [number, number];
  /** The instance's grants (it is created with them on its first call in a worker). */
  caps?: GuestCapabilities;
}

export type CallOutcome =
  | { kind: 'ok'; out: Uint8Array }
  /** The guest trapped or threw out of the export: the instance is gone. */
  | { kind: 'trap'; message: string }
  /** Past the time limit: the worker was terminated. */
  | { kind: 'timeout'; ms: number };

export class GuestLoadError extends Error {
  override name = 'GuestLoadError';
  readonly code = 'guest-load';
  readonly domain = 'internal';
}

interface WorkerMessage {
  op: string;
  [k: string]: unknown;
}

/** A component as the workers get it: the glue's path and the core modules, compiled once. */
interface LoadedComponent {
  transpiled: TranspiledComponent;
  modules: Array<[string, WebAssembly.Module]>;
}

class GuestWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  private seen = 0;
  dead = false;
  readonly loaded = new Set<string>();
  readonly loadErrors = new Map<string, string>();
  readonly pendingLoads = new Set<string>();
  handlers: CallHandlers | undefined;
  outcome: CallOutcome | undefined;
  /** Instances this worker has made (a call to another one makes it first). */
  readonly instances = new Set<number>();
  /** When the instance of the call in progress was made (its time limit counts from then). */
  instantiatedAt: number | undefined;
  /** The guest's `sql` or `http` request in progress. */
  hostRequest: { op: 'sql'; query: string; params: string } | { op: 'http'; request: string } | undefined;
  /** Time the call spent waiting for SQL or HTTP, ms: not the function's time. */
  waitedMs = 0;

  constructor(resourceLimitsMb: number) {
    const ctlBuffer = new SharedArrayBuffer(8);
    this.ctl = new Int32Array(ctlBuffer);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./guest-worker.mjs', import.meta.url), {
      workerData: { ctlBuffer, port: port2 },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: resourceLimitsMb },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.worker.on('exit', () => void (this.dead = true));
    this.worker.on('error', () => void (this.dead = true));
  }

  send(msg: WorkerMessage, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
    Atomics.add(this.ctl, TO_WORKER, 1);
    Atomics.notify(this.ctl, TO_WORKER);
  }

  /** Handles every message the worker has signalled so far. */
  drain(): void {
    while (Atomics.load(this.ctl, TO_MAIN) !== this.seen) {
      const m = receiveMessageOnPort(this.port);
      if (!m) continue; // signalled, not yet visible: take it on the next turn
      this.seen++;
      this.handle(m.message as WorkerMessage);
    }
  }

  private handle(m: WorkerMessage): void {
    switch (m.op) {
      case 'loaded':
        this.loaded.add(m['component'] as string);
        this.pendingLoads.delete(m['component'] as string);
        return;
      case 'instantiated':
        this.instances.add(m['inst'] as number);
        this.instantiatedAt = performance.now();
        return;
      case 'log':
        this.handlers?.log(m['level'] as string, m['operator'] as string, m['message'] as string);
        return;
      case 'lookup': {
        const values = this.handlers?.lookup(m['state'] as string, m['keys'] as string[], m['scope'] as LookupScope) ?? [];
        this.send({ op: 'answer', values });
        return;
      }
      case 'sql':
        this.hostRequest = { op: 'sql', query: m['query'] as string, params: m['params'] as string };
        return;
      case 'http':
        this.hostRequest = { op: 'http', request: m['request'] as string };
        return;
      case 'result':
        this.outcome = { kind: 'ok', out: new Uint8Array(m['out'] as ArrayBuffer) };
        return;
      case 'failed':
        if (m['kind'] === 'load') {
          const c = m['component'] as string;
          this.loadErrors.set(c, m['message'] as string);
          this.pendingLoads.delete(c);
        } else this.outcome = { kind: 'trap', message: m['message'] as string };
        return;
      default:
        return;
    }
  }

  load(c: LoadedComponent): void {
    const hash = c.transpiled.hash;
    if (this.loaded.has(hash) || this.pendingLoads.has(hash)) return;
    this.pendingLoads.add(hash);
    this.send({ op: 'load', component: hash, glue: c.transpiled.glue, modules: c.modules, functionsSource: c.transpiled.functionsSource });
  }

  /** Waits (without blocking the thread) until `done()` or the deadline, read again after every message; false on timeout. */
  async wait(done: () => boolean, deadline: number | (() => number)): Promise<boolean> {
    for (;;) {
      this.drain();
      if (done()) return true;
      if (this.dead) return false;
      const left = (typeof deadline === 'number' ? deadline : deadline()) - performance.now();
      if (left <= 0) return false;
      const at = Atomics.load(this.ctl, TO_MAIN);
      if (at !== this.seen) continue;
      const w = waitAsync(this.ctl, TO_MAIN, at, Math.min(left, 1000));
      if (!w.async) continue;
      // A pending waitAsync does not keep the process alive (the worker is unref'd): a timer does.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([w.value, new Promise((r) => (timer = setTimeout(r, Math.min(left, 1000))))]);
      clearTimeout(timer);
    }
  }

  terminate(): Promise<unknown> {
    this.dead = true;
    this.port.close();
    return this.worker.terminate().catch(() => undefined);
  }
}

/** One place in the pool: its worker (replaced after a timeout) and the calls waiting for it. */
interface Slot {
  worker: GuestWorker;
  /** The last call queued here: the next one starts when it settles. */
  tail: Promise<unknown>;
  /** Instances pinned here. */
  instances: number;
  /** Calls queued or running here. */
  pending: number;
  /** Time spent in calls here, ms: where a new instance goes when every worker has some. */
  busyMs: number;
}

export interface WorkersOptions {
  /** Guest threads: calls of instances on different workers run in parallel. @default the number of CPUs */
  workers?: number;
  /** Keep a worker ready to take over after a timeout (and to join the pool). @default true */
  spare?: boolean;
  /** Heap limit of a guest worker, MB. @default 512 */
  heapMb?: number;
  /** How long a worker may take to start and load a component, ms. @default 60000 */
  loadTimeoutMs?: number;
}

export class GuestWorkers {
  private readonly slots: Slot[] = [];
  private spare: GuestWorker | undefined;
  private readonly components = new Map<string, LoadedComponent>();
  private readonly placement = new Map<number, Slot>();
  private readonly opts: Required<WorkersOptions>;
  restarts = 0;
  instantiations = 0;
  private closed = false;

  constructor(opts: WorkersOptions = {}) {
    this.opts = {
      workers: Math.max(1, opts.workers ?? availableParallelism()),
      spare: opts.spare ?? true,
      heapMb: opts.heapMb ?? 512,
      loadTimeoutMs: opts.loadTimeoutMs ?? 60_000,
    };
    // The other workers start as instances need them (a host with one chain runs one thread).
    this.addSlot();
  }

  /** Workers the pool may grow to. */
  get capacity(): number {
    return this.opts.workers;
  }

  /** Workers started so far (the spare not included). */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Compiles a component's core modules (once: every worker instantiates the same compiled
   * modules) and loads it in every worker; resolves when the first one has it.
   */
  async load(c: TranspiledComponent): Promise<void> {
    let loaded = this.components.get(c.hash);
    if (!loaded) {
      const modules: LoadedComponent['modules'] = [];
      try {
        for (const name of c.modules) modules.push([name, await wasm.compile(await readFile(join(c.dir, name)))]);
      } catch (error) {
        throw new GuestLoadError(`cannot compile component ${c.hash}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      loaded = this.components.get(c.hash) ?? { transpiled: c, modules };
      this.components.set(c.hash, loaded);
    }
    for (const s of this.slots) s.worker.load(loaded);
    this.spare?.load(loaded);
    await this.loadedIn(this.slots[0]!.worker, loaded);
  }

  private async loadedIn(w: GuestWorker, c: LoadedComponent): Promise<void> {
    const hash = c.transpiled.hash;
    w.load(c);
    const ok = await w.wait(() => w.loaded.has(hash) || w.loadErrors.has(hash), performance.now() + this.opts.loadTimeoutMs);
    const err = w.loadErrors.get(hash);
    if (err) throw new GuestLoadError(`cannot load component ${hash}: ${err}`);
    if (!ok) throw new GuestLoadError(`component ${hash} did not load within ${this.opts.loadTimeoutMs} ms`);
  }

  /** Runs a guest call on the worker its instance is pinned to, after the calls queued there. */
  call(req: CallRequest, handlers: CallHandlers, timeoutMs: number): Promise<CallOutcome> {
    if (this.closed) return Promise.reject(new Error('this wasm host is closed'));
    const slot = this.slotOf(req.instance);
    slot.pending++;
    const run = slot.tail.then(() => this.callOn(slot, req, handlers, timeoutMs));
    slot.tail = run.catch(() => undefined).finally(() => slot.pending--);
    return run;
  }

  private async callOn(slot: Slot, req: CallRequest, handlers: CallHandlers, timeoutMs: number): Promise<CallOutcome> {
    const w = slot.worker;
    const c = this.components.get(req.component.hash);
    if (!c) throw new GuestLoadError(`component ${req.component.hash} is not loaded`);
    if (!w.loaded.has(c.transpiled.hash)) await this.loadedIn(w, c);
    w.handlers = handlers;
    w.outcome = undefined;
    w.instantiatedAt = undefined;
    w.hostRequest = undefined;
    w.waitedMs = 0;
    // A new instance (first call, or after a trap or a new worker) is made inside the call:
    // until it exists the call may take as long as loading does, then `timeoutMs` from there.
    const fresh = !w.instances.has(req.instance);
    if (fresh) this.instantiations++;
    // Transferred: a view on part of a buffer goes as a copy (Uint8Array's slice: a Buffer's does not copy).
    const frame = req.frame.byteOffset === 0 && req.frame.byteLength === req.frame.buffer.byteLength ? req.frame : Uint8Array.prototype.slice.call(req.frame);
    const started = performance.now();
    w.send(
      { op: 'call', component: c.transpiled.hash, inst: req.instance, fn: req.fn, frame: frame.buffer, ...(req.window ? { window: req.window } : {}), ...(req.caps ? { caps: req.caps } : {}) },
      [frame.buffer as ArrayBuffer],
    );
    const deadline = () => w.waitedMs + (w.instantiatedAt ?? started) + (fresh && w.instantiatedAt === undefined ? this.opts.loadTimeoutMs : timeoutMs);
    try {
      for (;;) {
        const done = await w.wait(() => w.outcome !== undefined || w.hostRequest !== undefined, deadline);
        if (!done || w.outcome !== undefined) return this.settle(slot, w, req, done, started);
        // The guest waits for SQL or HTTP: it runs here while the thread stays free.
        const ask = w.hostRequest!;
        w.hostRequest = undefined;
        const t0 = performance.now();
        let answer: string;
        try {
          if (ask.op === 'sql') {
            // SQL time is the function's time: the query gets what is left of the call and the
            // call ends at its deadline even if the query has not (the store cancels it).
            const left = deadline() - t0;
            if (!handlers.sql) {
              answer = JSON.stringify({ error: 'ctx.sql is not available here: this host has no state tables to query' });
            } else if (left <= 0) {
              return this.settle(slot, w, req, false, started);
            } else {
              let timer: NodeJS.Timeout | undefined;
              const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), left)));
              const query = handlers.sql(ask.query, ask.params, left);
              query.catch(() => {});
              const rows = await Promise.race([query, late]).finally(() => clearTimeout(timer));
              if (rows === undefined || performance.now() >= deadline()) return this.settle(slot, w, req, false, started);
              answer = rows;
            }
          } else {
            answer = handlers.http ? await handlers.http(ask.request) : JSON.stringify({ kind: 'refused', error: 'ctx.http is not available here: this host makes no requests' });
          }
        } catch (error) {
          answer = JSON.stringify({ error: error instanceof Error ? error.message : String(error), ...(ask.op === 'http' ? { kind: 'failed' } : {}) });
        }
        // HTTP waiting is not the function's time (it has its own per-attempt timeouts).
        if (ask.op === 'http') w.waitedMs += performance.now() - t0;
        if (w.dead) return this.settle(slot, w, req, false, started);
        w.send({ op: 'answer', answer });
      }
    } finally {
      slot.busyMs += performance.now() - started;
    }
  }

  private settle(slot: Slot, w: GuestWorker, req: CallRequest, done: boolean, started: number): CallOutcome {
    w.handlers = undefined;
    if (done) {
      if (w.outcome!.kind === 'trap') w.instances.delete(req.instance);
      return w.outcome!;
    }
    const died = w.dead;
    if (this.closed) return { kind: 'trap', message: 'the wasm host was closed during the call' };
    this.replace(slot);
    // A worker that died by itself (out of memory, a crash) failed the call like a trap.
    if (died) return { kind: 'trap', message: 'the guest worker died (out of memory?)' };
    return { kind: 'timeout', ms: Math.round(performance.now() - started) };
  }

  /**
   * The worker of an instance: pinned at its first call. A new instance goes to a worker with
   * none, then to a new worker while the pool may grow, then to the least loaded one.
   */
  private slotOf(instance: number): Slot {
    let slot = this.placement.get(instance);
    if (slot) return slot;
    slot = this.slots.find((s) => s.instances === 0);
    if (!slot && this.slots.length < this.opts.workers) slot = this.addSlot();
    slot ??= this.slots.reduce((a, b) => (b.pending < a.pending || (b.pending === a.pending && b.busyMs < a.busyMs) ? b : a));
    slot.instances++;
    this.placement.set(instance, slot);
    return slot;
  }

  private addSlot(): Slot {
    const slot: Slot = { worker: this.takeSpare(), tail: Promise.resolve(), instances: 0, pending: 0, busyMs: 0 };
    this.slots.push(slot);
    return slot;
  }

  /** The spare (already loaded) or, without one, a new worker; a new spare starts. */
  private takeSpare(): GuestWorker {
    const w = this.spare ?? this.newWorker();
    this.spare = this.opts.spare ? this.newWorker() : undefined;
    return w;
  }

  private newWorker(): GuestWorker {
    const w = new GuestWorker(this.opts.heapMb);
    for (const c of this.components.values()) w.load(c);
    return w;
  }

  /** Forgets an instance (its memory is freed in the worker). */
  drop(instance: number): void {
    const slot = this.placement.get(instance);
    if (!slot) return;
    this.placement.delete(instance);
    slot.instances--;
    // After the calls already queued there, which may still use it.
    slot.tail = slot.tail.then(() => {
      slot.worker.instances.delete(instance);
      if (!slot.worker.dead) slot.worker.send({ op: 'drop', inst: instance });
    });
  }

  private replace(slot: Slot): void {
    void slot.worker.terminate();
    this.restarts++;
    slot.worker = this.takeSpare();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.map((s) => s.worker.terminate()), this.spare?.terminate()]);
  }
}
