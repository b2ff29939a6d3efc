/**
 * Entry point of the planner container (`node apps/planner/src/main.ts` on Node 22.18+, or
 * through tsx on Node 20): configured by the environment only.
 */
import { plannerConfig, servePlanner } from './service.ts';

try {
  await servePlanner(plannerConfig({}));
} catch (err) {
  process.stderr.write(`ssdk planner: failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = (err as { domain?: string }).domain === 'user' ? 2 : 1;
}
