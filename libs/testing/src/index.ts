/**
 * @ssdk/testing — real servers for integration tests (`*.int.test.ts`): reuse the PostgreSQL and
 * NATS JetStream servers a machine runs (or the ones `DATABASE_URL` / `NATS_URL` name), start
 * them with testcontainers where Docker is available, or fail with the command that starts them.
 * Every call gets a unique PostgreSQL schema or NATS subject prefix, so runs never collide.
 *
 * No database or NATS client is imported here (those live in libs/state and libs/bus): servers
 * are checked with a TCP handshake, and the test schema is created and dropped with a minimal
 * wire-protocol client. testcontainers is optional and loaded only when nothing else answers
 * (pinned to 10.28, the line that runs on Node 20).
 *
 * @example
 * import { testPostgres, testNats } from '@ssdk/testing';
 * const pg = await testPostgres();   // { connectionString, schema, source, cleanup }
 * const nats = await testNats();     // { url, prefix, source, cleanup }
 * // ... run the test against pg.connectionString / pg.schema and nats.url / nats.prefix ...
 * await pg.cleanup();                // DROP SCHEMA ... CASCADE
 */
export { TestServerUnavailableError } from './errors.ts';
export { uniqueName } from './names.ts';
export { startCalloutServer, type CalloutServer } from './callout-server.ts';
export {
  LOCAL_POSTGRES_URL,
  POSTGRES_IMAGE,
  START_POSTGRES,
  stopTestPostgres,
  testPostgres,
  type TestPostgres,
  type TestPostgresOptions,
} from './postgres.ts';
export {
  LOCAL_NATS_URL,
  NATS_IMAGE,
  readNatsInfo,
  START_NATS,
  stopTestNats,
  testNats,
  type NatsInfo,
  type TestNats,
  type TestNatsOptions,
} from './nats.ts';
export { freePort, PrivateNatsServer } from './private-nats.ts';
export { TcpProxy } from './tcp-proxy.ts';
export { BRANCHES_SERVICES, CTX_SQL_SERVICES, ctxHttpServices } from './dataflows.ts';
export { writeServicesFile } from './services-file.ts';
export { startOtlpReceiver, type OtlpAttribute, type OtlpReceiver, type OtlpSpan } from './otlp-receiver.ts';
export { until } from './wait.ts';
export { runEntryPoint, type EntryPointResult } from './entry-point.ts';
