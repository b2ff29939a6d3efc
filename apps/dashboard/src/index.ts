/**
 * apps/dashboard — the dashboard of a distributed stack (`main.ts`): the page and server live in
 * `@ssdk/telemetry/dashboard` (so `ssdk run --ui` serves the same page for an embedded run);
 * this app feeds them from the operators' Prometheus endpoints, NATS and PostgreSQL.
 */
export { serveDistributedDashboard, type DistributedDashboardOptions, type RunningDashboard } from './serve.ts';
export { mergeReplicas, scrapeOperators, type ScrapeResult } from './scrape.ts';
