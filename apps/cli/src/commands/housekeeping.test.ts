import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@ssdk/testing';
import { bufferIo } from '../io.ts';
import { main } from '../main.ts';

const saved = { NATS_URL: process.env['NATS_URL'], DATABASE_URL: process.env['DATABASE_URL'] };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ssdk-clean-'));
  await writeFile(join(dir, 'services.yaml'), '');
  return dir;
}

describe('cli - version, setup, clean', () => {
  it('cli - `ssdk version` prints the versions of ssdk and Node and the services files it reads', async () => {
    const io = bufferIo();
    expect(await main(['version'], io)).toBe(0);
    expect(io.stdout()).toMatch(/^ssdk \d+\.\d+\.\d+\nnode 20\.\d+\.\d+\nservices files: apiVersion 0\.1\.0, .*0\.6\.0\n$/);
  });

  it('cli - `ssdk clean` removes the state folder beside the services file, and `--dry-run` only says so', async () => {
    const dir = await folder();
    await mkdir(join(dir, '.ssdk', 'state'), { recursive: true });
    await mkdir(join(dir, '.ssdk', 'build'), { recursive: true });
    let io = bufferIo(dir);
    expect(await main(['clean', '--dry-run'], io)).toBe(0);
    expect(io.stdout()).toBe('would remove .ssdk (build, state)\n');
    expect(existsSync(join(dir, '.ssdk'))).toBe(true);
    io = bufferIo(dir);
    expect(await main(['clean', 'services.yaml'], io)).toBe(0);
    expect(io.stdout()).toBe('removed .ssdk\n');
    expect(existsSync(join(dir, '.ssdk'))).toBe(false);
    expect(existsSync(join(dir, 'services.yaml'))).toBe(true);
    io = bufferIo(dir);
    expect(await main(['clean'], io)).toBe(0);
    expect(io.stdout()).toBe('nothing to clean: .ssdk does not exist\n');
  });

  it('cli - `ssdk clean` refuses a folder holding files ssdk did not write', async () => {
    const dir = await folder();
    await mkdir(join(dir, 'mine'), { recursive: true });
    await writeFile(join(dir, 'mine', 'thesis.tex'), 'years of work');
    const io = bufferIo(dir);
    expect(await main(['clean', '--state-dir', 'mine'], io)).toBe(2);
    expect(io.stderr()).toContain('mine holds files ssdk did not write (thesis.tex)');
    expect(existsSync(join(dir, 'mine', 'thesis.tex'))).toBe(true);
  });

  it('cli - `ssdk setup` says what is missing and how to get it, without printing credentials', async () => {
    const closed = await freePort();
    process.env['NATS_URL'] = `nats://127.0.0.1:${closed}`;
    process.env['DATABASE_URL'] = `postgres://user:s3cret@127.0.0.1:${closed}/db`;
    const io = bufferIo();
    expect(await main(['setup'], io)).toBe(1);
    const out = io.stdout();
    expect(out).toMatch(/ok {6}Node {8}20\./);
    expect(out).toContain(`missing NATS        nothing answers at nats://127.0.0.1:${closed}`);
    expect(out).toContain('nats-server -js');
    expect(out).toContain(`missing PostgreSQL  nothing answers at 127.0.0.1:${closed}`);
    expect(out).toContain('embedded mode works');
    expect(out).not.toContain('s3cret');
  });
});
