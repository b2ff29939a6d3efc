/**
 * Entry point of the planner container (`node apps/planner/src/main.ts` on Node 22.18+, or
 * through tsx on Node 20): configured by the environment only.
 */
import { redactedMessage } from '@ssdk/records';

const USAGE = `Usage: ssdk planner (as a service: node lib/planner.js, configured by the environment only)

The control plane of a distributed ssdk stack: deploys services files (streams, state schema, the
versioned plan in PostgreSQL), answers status, undeploy and list over NATS request/reply.

Environment:
  NATS_URL              NATS server (default nats://127.0.0.1:4222)
  DATABASE_URL          PostgreSQL server (default: the local server as psql finds it:
                        PGHOST, PGPORT, PGUSER, PGDATABASE)
  SSDK_SUBJECT_PREFIX   subject prefix of the stack (default ssdk)
  SSDK_CONTROL_SCHEMA   PostgreSQL schema of the deployed plans (default ssdk_control; under
                        another subject prefix, one of its own)
`;

const [arg] = process.argv.slice(2);
if (arg === '--help' || arg === '-h') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (arg !== undefined) {
  process.stderr.write(`ssdk planner: error: unexpected argument \`${arg}\`: the planner is configured by the environment\n  hint: run with --help for its variables\n`);
  process.exit(2);
}

// Loaded once the arguments are sound: `--help` needs none of it.
const { plannerConfig, servePlanner } = await import('./service.ts');
try {
  await servePlanner(plannerConfig({}));
} catch (err) {
  process.stderr.write(`ssdk planner: failed: ${redactedMessage(err)}\n`);
  process.exitCode = (err as { domain?: string }).domain === 'user' ? 2 : 1;
}
