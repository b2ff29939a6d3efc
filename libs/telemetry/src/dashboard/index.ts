/**
 * @ssdk/telemetry/dashboard — the dashboard page and its HTTP server, fed by a `DashboardSource`
 * (the embedded runtime in-process, or a distributed stack's scrape endpoints and servers).
 *
 * @example
 * import { startDashboard } from '@ssdk/telemetry/dashboard';
 * const ui = await startDashboard({ source, port: 0 });
 * console.log(`dashboard at ${ui.url}`);
 */
export * from './graph.ts';
export * from './source.ts';
export { startDashboard, type DashboardOptions, type DashboardServer } from './server.ts';
export { dashboardPage } from './page.ts';
