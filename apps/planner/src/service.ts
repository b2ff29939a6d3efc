/**
 * The planner as a process: configured from flags or the environment (`NATS_URL`,
 * `DATABASE_URL`, `SSDK_SUBJECT_PREFIX`, `SSDK_CONTROL_SCHEMA`), stopped by SIGTERM / SIGINT
 * (the request in hand is answered first).
 */
import { startPlanner, type PlannerOptions } from './planner.ts';

export function plannerConfig(flags: Partial<Record<'nats' | 'postgres' | 'subjectPrefix' | 'controlSchema', string>>, env: Record<string, string | undefined> = process.env): PlannerOptions {
  // The flags as options; what they leave unset, `startPlanner` takes from `env` by the stack's one rule.
  return {
    env,
    ...(flags.nats ? { natsUrl: flags.nats } : {}),
    ...(flags.postgres ? { databaseUrl: flags.postgres } : {}),
    ...(flags.subjectPrefix ? { subjectPrefix: flags.subjectPrefix } : {}),
    ...(flags.controlSchema ? { controlSchema: flags.controlSchema } : {}),
  };
}

/** Runs until SIGTERM / SIGINT. */
export async function servePlanner(options: PlannerOptions, log: (line: string) => void = (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`)): Promise<void> {
  const planner = await startPlanner({ ...options, log });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await planner.stop();
}
