// The embedded state database's thread: PGlite runs here, not on the main thread, because a
// PGlite statement cannot be interrupted (no signals in WebAssembly, so `statement_timeout`
// never fires) and blocks its thread until it ends. Here, a query past its time limit is
// stopped by terminating this thread (see pglite.ts); the main thread stays free meanwhile.
// Protocol: {id, sql, params} → {id, rows} | {id, error: {message, code, hint, detail}}.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const INT8_OID = 20;
// As parseInt8 in driver.ts: int8 as a number while exact, else a bigint.
const parseInt8 = (text) => {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
};

const port = parentPort;
try {
  const db = await PGlite.create({ ...(workerData.dataDir ? { dataDir: workerData.dataDir } : {}), parsers: { [INT8_OID]: parseInt8 } });
  port.on('message', async (m) => {
    if (m.op === 'close') {
      await db.close().catch(() => {});
      port.postMessage({ id: m.id, rows: [] });
      return;
    }
    try {
      port.postMessage({ id: m.id, rows: (await db.query(m.sql, m.params)).rows });
    } catch (error) {
      port.postMessage({ id: m.id, error: describe(error) });
    }
  });
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ ready: false, error: describe(error) });
}

function describe(error) {
  const e = error ?? {};
  return { message: e.message ?? String(error), code: e.code, hint: e.hint, detail: e.detail };
}
