// The thread sandboxed guests run in (plain JavaScript: a worker loads no TypeScript).
//
// Talks to the main thread over a MessagePort plus a shared counter pair: each side posts a
// message, then bumps its counter and notifies; the main thread waits with Atomics.waitAsync,
// this thread blocks in Atomics.wait and takes the message with receiveMessageOnPort. A guest
// call is synchronous here: the guest's `lookup`, `sql` and `http` imports block until the main thread
// answers. The main thread stops a runaway guest by terminating this worker.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { ctlBuffer, port } = workerData;
const ctl = new Int32Array(ctlBuffer);
const TO_WORKER = 0;
const TO_MAIN = 1;
let seen = 0; // messages sent before this thread started are still to take

/** hash -> { instantiate, modules, functionsSource } */
const components = new Map();
/** instance id -> { component, exports } */
const instances = new Map();

function send(msg, transfer) {
  port.postMessage(msg, transfer);
  Atomics.add(ctl, TO_MAIN, 1);
  Atomics.notify(ctl, TO_MAIN);
}

/** Messages that came while a guest waited for an answer (a load, a drop): handled after the call. */
const later = [];

function receive() {
  while (Atomics.load(ctl, TO_WORKER) === seen) Atomics.wait(ctl, TO_WORKER, seen);
  seen++;
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (m) return m.message;
  }
}

function next() {
  return later.length ? later.shift() : receive();
}

/** The main thread's answer to the guest's lookup or sql call. */
function answer() {
  for (;;) {
    const m = receive();
    if (m.op === 'answer') return m;
    later.push(m);
  }
}

const scopeOut = (scope) =>
  scope.tag === 'committed' ? { tag: 'committed' } : { tag: 'current', window: scope.val ? [Number(scope.val.start), Number(scope.val.end)] : null };

// Granted capabilities are answered here, in the worker (no trip to the main thread); an
// ungranted call traps: ssdk's glue never makes one, so only code that bypasses it gets here.
function denied(what, grant) {
  throw new Error(`${what} was refused: this chain's steps have no \`${grant}\` grant`);
}

function hostImports(instanceId, caps) {
  return {
    'ssdk:dataflow/host': {
      log(level, operator, message) {
        send({ op: 'log', inst: instanceId, level, operator, message });
      },
      lookup(state, key, scope) {
        send({ op: 'lookup', state, keys: [key], scope: scopeOut(scope) });
        return answer().values[0] ?? undefined;
      },
      lookupMany(state, keys, scope) {
        send({ op: 'lookup', state, keys, scope: scopeOut(scope) });
        return answer().values.map((v) => v ?? undefined);
      },
      now() {
        if (!caps?.clock) denied('the clock', 'clock');
        return BigInt(Date.now());
      },
      randomBytes(len) {
        if (!caps?.random) denied('randomness', 'random');
        return crypto.getRandomValues(new Uint8Array(Math.min(len, 65536)));
      },
      env(name) {
        if (!caps?.env || !Object.hasOwn(caps.env, name)) denied(`environment variable ${name}`, `env: [${name}]`);
        return caps.env[name] ?? undefined;
      },
      // Answered by the main thread asynchronously (the database may live there): this
      // thread blocks until the rows come back, as for lookup.
      sql(query, params) {
        send({ op: 'sql', query, params });
        return answer().answer;
      },
      // Made by the main thread, which checks the host against the chain's grants.
      http(request) {
        if (!caps?.http) denied('ctx.http', 'http');
        send({ op: 'http', request });
        return answer().answer;
      },
    },
  };
}

async function load(msg) {
  if (components.has(msg.component)) return;
  const glue = await import(pathToFileURL(msg.glue).href);
  // Compiled once by the main thread: every worker shares the machine code.
  components.set(msg.component, { instantiate: glue.instantiate, modules: new Map(msg.modules), functionsSource: msg.functionsSource });
}

function instance(msg) {
  let inst = instances.get(msg.inst);
  if (!inst) {
    const c = components.get(msg.component);
    if (!c) throw new Error(`component ${msg.component} is not loaded in this worker`);
    const exports = c.instantiate((name) => c.modules.get(name), hostImports(msg.inst, msg.caps));
    // ssdk's engine component: the dataflow's functions are evaluated in the new instance, before
    // the call's time limit starts (as a component's own top level would have been at build time).
    if (c.functionsSource !== undefined) {
      const failed = exports.load(c.functionsSource);
      if (failed) throw new Error(`the sandboxed functions failed to load: ${failed}`);
    }
    inst = { exports };
    instances.set(msg.inst, inst);
    // The call's time limit starts now: making an instance is not the function's time.
    send({ op: 'instantiated', inst: msg.inst });
  }
  return inst;
}

function call(msg) {
  let inst;
  try {
    inst = instance(msg);
  } catch (err) {
    send({ op: 'failed', kind: 'instantiate', message: String(err && err.message ? err.message : err) });
    return;
  }
  const frame = new Uint8Array(msg.frame);
  let out;
  try {
    out = msg.fn === 'flush' ? inst.exports.flush(BigInt(msg.window[0]), BigInt(msg.window[1]), frame) : inst.exports.process(frame);
  } catch (err) {
    // A trap (or anything thrown out of the guest) poisons the instance: drop it.
    instances.delete(msg.inst);
    send({ op: 'failed', kind: 'trap', message: String(err && err.message ? err.message : err) });
    return;
  }
  const copy = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
  send({ op: 'result', out: copy.buffer }, [copy.buffer]);
}

// Runs until the main thread terminates this worker.
for (;;) {
  const msg = next();
  try {
    if (msg.op === 'load') {
      await load(msg);
      send({ op: 'loaded', component: msg.component });
    } else if (msg.op === 'call') call(msg);
    else if (msg.op === 'drop') instances.delete(msg.inst);
  } catch (err) {
    send({ op: 'failed', kind: 'load', component: msg.component, message: String(err && err.stack ? err.stack : err) });
  }
}
