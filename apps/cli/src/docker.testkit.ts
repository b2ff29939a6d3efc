/**
 * A Docker engine for the compose acceptance test: the one at $DOCKER_HOST if it answers, else the
 * test engine another run left answering on RUN_DIR's socket (two runs at once share it: a second
 * `dockerd` on the same data root would fail on its pidfile), else a private `dockerd` (own data
 * root, socket and exec root, so it never touches another engine), stopped by its PID at the end. Then the stand-in base images and the ssdk image
 * (`tools/docker/`), cached by tag in the data root between runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { until } from '@ssdk/testing';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
/** Kept between runs: the debootstrap root and the images built from it. */
const DATA_ROOT = process.env['SSDK_TEST_DOCKER_ROOT'] ?? '/var/lib/ssdk-test-docker';
const RUN_DIR = '/run/ssdk-test-docker';

export interface DockerEngine {
  /** The environment every docker / docker-compose call gets (DOCKER_HOST). */
  env: NodeJS.ProcessEnv;
  docker(args: string[], options?: { cwd?: string }): Promise<string>;
  compose(dir: string, args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function dockerEngine(): Promise<DockerEngine> {
  const missing = [];
  for (const tool of ['dockerd', 'docker', 'docker-compose', 'debootstrap']) {
    if (!(await run('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false))) missing.push(tool);
  }
  if (missing.length > 0) throw new Error(`no ${missing.join(', ')} here: apt-get install -y docker.io docker-compose debootstrap (as root)`);
  let daemon: ChildProcess | undefined;
  const socket = `${RUN_DIR}/docker.sock`;
  let env: NodeJS.ProcessEnv = process.env['DOCKER_HOST'] ? { ...process.env } : { ...process.env, DOCKER_HOST: `unix://${socket}` };
  const answers = async () =>
    run('docker', ['info', '--format', '{{.ServerVersion}}'], { env })
      .then(() => true)
      .catch(() => false);
  if (!(await answers())) {
    await mkdir(DATA_ROOT, { recursive: true });
    await mkdir(RUN_DIR, { recursive: true });
    env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
    const log = await open(`${RUN_DIR}/dockerd.log`, 'a');
    daemon = spawn(
      'dockerd',
      ['--data-root', DATA_ROOT, '--exec-root', `${RUN_DIR}/exec`, '--pidfile', `${RUN_DIR}/docker.pid`, '--host', `unix://${socket}`, '--storage-driver', 'overlay2'],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    await until('dockerd to answer', answers, 60_000, () => `see ${RUN_DIR}/dockerd.log`);
    await log.close();
  }
  const docker = async (args: string[], options: { cwd?: string } = {}) => (await run('docker', args, { env, maxBuffer: 64 << 20, ...options })).stdout;
  return {
    env,
    docker,
    compose: async (dir, args) => (await run('docker-compose', args, { cwd: dir, env, maxBuffer: 64 << 20 })).stdout,
    stop: async () => {
      if (!daemon || daemon.exitCode !== null) return;
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    },
  };
}

/** The stand-in base images, then the ssdk image (`tag`) from the repository's Dockerfile; what each took. */
export async function buildImages(engine: DockerEngine, tag = 'ssdk:local'): Promise<{ standInsMs: number; imageMs: number; imageBytes: number }> {
  const t0 = Date.now();
  await run(`${ROOT}/tools/docker/stand-ins.sh`, [], { env: engine.env, maxBuffer: 64 << 20 });
  const t1 = Date.now();
  await run(`${ROOT}/tools/docker/image.sh`, [tag], { env: engine.env, maxBuffer: 64 << 20 });
  const imageBytes = Number((await engine.docker(['image', 'inspect', '-f', '{{.Size}}', tag])).trim());
  return { standInsMs: t1 - t0, imageMs: Date.now() - t1, imageBytes };
}
