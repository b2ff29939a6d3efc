/**
 * The distributed dashboard has no login, so by default it listens on 127.0.0.1 only: started as
 * it is (its own process, no --host, no SSDK_DASHBOARD_HOST), it prints the address it really
 * bound and a connection to this machine's network address is refused; with `--host 0.0.0.0` the
 * same connection is answered (the check can tell the two apart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testNats } from '@ssdk/testing';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const FILE = fileURLToPath(new URL('../../../examples/word-count/services.yaml', import.meta.url));

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

/** Starts the dashboard; resolves with the URL it printed. */
async function startDashboard(args: string[], nats: { url: string; prefix: string }): Promise<URL> {
  const { SSDK_DASHBOARD_HOST: _host, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', TSX, MAIN, FILE, '--port', '0', '--nats', nats.url, '--subject-prefix', nats.prefix, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dashboard printed no address in 60 s: ${err}`)), 60_000);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /ssdk dashboard at (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]!));
      }
    });
    child.on('exit', (code) => reject(new Error(`the dashboard exited (${code}): ${err}`)));
  });
}

const reaches = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

describe('distributed dashboard - where it listens', () => {
  it('dashboard - binds 127.0.0.1 unless told and prints it; this machine\'s network address is refused, and answered with --host 0.0.0.0', async () => {
    // An address of this machine other than loopback: what another host would connect to.
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(external, 'a non-loopback IPv4 address on this machine').toBeDefined();
    const nats = await testNats();

    const local = await startDashboard([], nats);
    expect(local.hostname).toBe('127.0.0.1');
    expect((await fetch(local)).status).toBe(200);
    expect(await reaches(external!, Number(local.port))).toBe(false);

    const everywhere = await startDashboard(['--host', '0.0.0.0'], nats);
    expect(everywhere.hostname).toBe('0.0.0.0');
    expect(await reaches(external!, Number(everywhere.port))).toBe(true);
  }, 150_000);
});
