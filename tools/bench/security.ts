/**
 * `npm run bench:security` — what issue 13's protections cost, each against the same work without
 * it, in one run (ratios hold on a busy box):
 *
 *   signing   ed25519 (nkeys) sign of a deployment statement — once per `ssdk deploy` — and its
 *             check by an operator (`checkDeploymentTrust`) — once per version it loads;
 *   SQL role  `migrate()` of a state schema with its SQL role (CREATE ROLE, grants) against one
 *             without (`queryRole: false`), and `ctx.sql` queries under the role (SET LOCAL ROLE,
 *             one more statement in the transaction) against queries as the login.
 *
 * Neither is on the per-record path: `bench:distributed`'s word count (no `ctx.sql`, operators
 * started from the file) does the same work with or without them; these are the whole of it.
 *
 *   npx tsx tools/bench/security.ts [--queries N]
 */
import { nkeys } from '@nats-io/transport-node';
import { planOrThrow } from '@ssdk/plan';
import { checkDeploymentTrust, nativeSteps, signStatement, STATEMENT_VERSION } from '@ssdk/runtime';
import { openPostgresDatabase, openPostgresStore } from '@ssdk/state';
import { benchArgs } from './args.ts';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const { values } = benchArgs({ options: { queries: { type: 'string', default: '500' } } });
const QUERIES = Number(values.queries);

const timed = async (n: number, fn: (i: number) => unknown): Promise<number> => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (performance.now() - t) / n;
};

const { plan } = await planOrThrow(new URL('../../examples/word-count/services.yaml', import.meta.url).pathname, { partitions: 1 });
const signer = nkeys.createOperator();
const seed = new TextDecoder().decode(signer.getSeed());
const statement = { statementVersion: STATEMENT_VERSION, dataflow: 'examples/word-count', bundle: 'b'.repeat(64), artifacts: 'a'.repeat(64), native: nativeSteps(plan), signedAt: Date.now() } as const;
const signature = signStatement(seed, statement);
const signMs = await timed(200, () => signStatement(seed, statement));
const facts = { dataflow: 'examples/word-count', version: 2, bundle: statement.bundle, artifacts: statement.artifacts, plan, signature };
const checkMs = await timed(200, () => checkDeploymentTrust(facts, { trustedKeys: [signer.getPublicKey()], first: { version: 1, plan } }));
const uncheckedMs = await timed(200, () => checkDeploymentTrust({ ...facts, signature: undefined as never }, { trustedKeys: [], first: { version: 1, plan } }));

const id = `ssdk_bench_sec_${process.pid}`;
const spec = { table: 'counts', keyType: 'string', windowed: false, value: { kind: 'json' } } as const;
const db = openPostgresDatabase({ connectionString: DATABASE_URL });
const rows: Array<[string, number, number]> = [];
try {
  const run = async (role: boolean) => {
    const schema = `${id}_${role ? 'role' : 'login'}`;
    const store = await openPostgresStore({ connectionString: DATABASE_URL, schema, ...(role ? {} : { queryRole: false }) });
    try {
      await store.query('SELECT 1').catch(() => {}); // the pool's first connection is not migrate's cost
      const t = performance.now();
      await store.migrate([spec]);
      const migrateMs = performance.now() - t;
      await store.commit({ writes: Array.from({ length: 100 }, (_, i) => ({ table: 'counts', key: `k${i}`, partition: 0, value: i })), offsets: [] });
      await timed(50, (i) => store.query('SELECT value FROM counts WHERE key = $1', [`k${i % 100}`]));
      const queryMs = await timed(QUERIES, (i) => store.query('SELECT value FROM counts WHERE key = $1', [`k${i % 100}`]));
      return { migrateMs, queryMs };
    } finally {
      await store.destroy();
      await store.close();
    }
  };
  // Alternated, twice each: the order does not favour either.
  const login = [await run(false), await run(true), await run(false), await run(true)];
  const without = [login[0]!, login[2]!];
  const withRole = [login[1]!, login[3]!];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  rows.push(['migrate() of a schema (ms)', mean(without.map((r) => r.migrateMs)), mean(withRole.map((r) => r.migrateMs))]);
  rows.push([`ctx.sql query, mean of ${QUERIES} (ms)`, mean(without.map((r) => r.queryMs)), mean(withRole.map((r) => r.queryMs))]);
} finally {
  await db.close();
}

console.log('| cost | without | with | ratio |');
console.log('|---|---:|---:|---:|');
console.log(`| deployment check by an operator, per version (ms) | ${uncheckedMs.toFixed(3)} | ${checkMs.toFixed(3)} | ${(checkMs / uncheckedMs).toFixed(1)} |`);
console.log(`| signing a deployment, per deploy (ms) | – | ${signMs.toFixed(3)} | – |`);
for (const [name, a, b] of rows) console.log(`| ${name} (SQL role) | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)} |`);
