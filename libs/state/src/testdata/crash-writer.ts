/**
 * Commits checkpoints in a loop until killed: 100 keys all set to the checkpoint's sequence,
 * with the offset at that sequence, printing each sequence once its commit resolved.
 * Run by pglite.test.ts, which kills it with SIGKILL and checks what survived.
 */
import { openPgliteStore } from '../pglite.ts';

const [dataDir, schema] = process.argv.slice(2);
const store = await openPgliteStore({ dataDir: dataDir!, schema: schema! });
await store.migrate([{ table: 'crash_kv', keyType: 'number', windowed: false, value: { kind: 'json' } }]);
let seq = (await store.offsets('crash')).get(0)?.seq ?? 0;
process.stdout.write('ready\n');
for (;;) {
  seq++;
  await store.commit({
    writes: Array.from({ length: 100 }, (_, key) => ({ table: 'crash_kv', key, partition: 0, value: seq })),
    offsets: [{ operator: 'crash', partition: 0, seq }],
  });
  process.stdout.write(`${seq}\n`);
}
