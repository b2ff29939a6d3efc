/**
 * The planner as a process: configured from flags or the environment (`NATS_URL`,
 * `DATABASE_URL`, `SSDK_SUBJECT_PREFIX`, `SSDK_CONTROL_SCHEMA`), stopped by SIGTERM / SIGINT
 * (the request in hand is answered first).
 */
import { startPlanner, type PlannerOptions } from './planner.ts';

export function plannerConfig(flags: Partial<Record<'nats' | 'postgres' | 'subjectPrefix' | 'controlSchema', string>>, env: Record<string, string | undefined> = process.env): PlannerOptions {
  const natsUrl = flags.nats ?? env['NATS_URL'];
  const databaseUrl = flags.postgres ?? env['DATABASE_URL'];
  const subjectPrefix = flags.subjectPrefix ?? env['SSDK_SUBJECT_PREFIX'];
  const controlSchema = flags.controlSchema ?? env['SSDK_CONTROL_SCHEMA'];
  return {
    ...(natsUrl ? { natsUrl } : {}),
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(subjectPrefix ? { subjectPrefix } : {}),
    ...(controlSchema ? { controlSchema } : {}),
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
