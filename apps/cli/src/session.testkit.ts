/**
 * An embedded session (what `ssdk run` and the shell drive) on a test's own services text: the
 * CLI tests of ctx.sql, ctx.http, imported states and inline connectors each wrote the file,
 * placed its state and opened the session again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { memoryCheckpointStore } from '@ssdk/runtime';
import { writeServicesFile } from '@ssdk/testing';
import { openSession, type Session, type SessionOptions } from './embedded-session.ts';

// Components are built once per content hash; the cache is shared with the other CLI tests.
process.env['SSDK_COMPONENT_CACHE'] ??= join(tmpdir(), 'ssdk-test-components');

export interface TestSessionOptions {
  isolation: 'plan' | 'native';
  /** `pglite` (the default): a fresh PGlite database beside the file, as `ssdk run` keeps it; `memory`: checkpoints only (no `ctx.sql`). */
  state?: 'pglite' | 'memory';
  /** More files beside the services file, by path relative to it (a package it imports). */
  files?: Record<string, string>;
  connectors?: SessionOptions['connectors'];
}

/** A session on `text`, written to a services file in a fresh folder. */
export async function openTestSession(text: string, o: TestSessionOptions): Promise<Session> {
  const { dir, file } = await writeServicesFile(text);
  for (const [path, content] of Object.entries(o.files ?? {})) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return openSession({
    file,
    checkpoints: o.state === 'memory' ? { kind: 'memory', store: memoryCheckpointStore() } : { kind: 'pglite', stateDir: join(dir, '.ssdk'), fresh: true },
    isolation: o.isolation,
    ...(o.connectors ? { connectors: o.connectors } : {}),
  });
}
