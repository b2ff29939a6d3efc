/**
 * @ssdk/connectors — the outside world in and out of ssdk's topics: `http-source` (poll or
 * webhook), `http-sink`, `mqtt-source`, `mqtt-sink`, `sql-sink` (exactly-once rows in
 * PostgreSQL), `postgres-source` (polling, change data capture) and `nexmark-source` (the Nexmark
 * benchmark's events, generated: a finite source). A connector reads its settings from a connector
 * file in Fluvio's format (`@ssdk/spec`'s `loadConnectorFile`) and runs against a `Bus`: NATS
 * JetStream as its own process (`ssdk connector run FILE`), or the in-memory bus embedded.
 *
 * Every connector keeps the house's failure rules: a record the endpoint or the mapping cannot
 * take goes to `<connector>.dead-letter` with the reason; an endpoint out of reach is retried
 * with backoff and nothing is lost; secrets come from the environment or a secrets file and are
 * taken out of every line the connector prints.
 *
 * @example
 * import { createNatsBus } from '@ssdk/bus';
 * import { loadConnectorFile } from '@ssdk/spec';
 * import { runConnector, Secrets } from '@ssdk/connectors';
 *
 * const { connector } = await loadConnectorFile('connectors/sensors.yaml');
 * const bus = await createNatsBus({ servers: 'nats://127.0.0.1:4222' });
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * await runConnector(connector!, { bus, secrets: new Secrets(), signal: stop.signal, log: console.error });
 */
export { endsOnItsOwn, runConnector, scalingRefusal, type RunConnectorOptions } from './run.ts';
export { Secrets, readSecretsFile, type SecretSource } from './secrets.ts';
export { ConnectorError, ConnectorConfigError, EndpointUnavailableError, BadRecordError } from './errors.ts';
export { deadLetterTopic, type ConnectorStats } from './runtime.ts';
export { rowOfJsonSql, rowsOfFluvioOperation, valueAtPath, type SqlRow } from './json-sql.ts';
export { bodyRecords } from './http.ts';
export { connectorMetrics, type ConnectorMetricsSource } from './metrics.ts';
