import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServicesFile } from '@ssdk/spec';
import { checkDataflow } from '@ssdk/plan';
import { unitIsolation } from '../host/manifest.ts';
import { buildDataflow } from './build.ts';

const repo = new URL('../../../../', import.meta.url).pathname;

async function build(dir: string) {
  const { dataflow } = await loadServicesFile(join(dir, 'services.yaml'));
  return buildDataflow({ dataflow, graph: checkDataflow(dataflow).graph, stateDir: join(dir, '.ssdk') });
}

describe('wasm-host - build', () => {
  it('wasm-host - `isolation: native` steps get no component; the manifest says where each step runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-native-'));
    await cp(join(repo, 'examples', 'wat-filter'), dir, { recursive: true });
    const file = join(dir, 'services.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('types:', 'config:\n  isolation: native\n\ntypes:'));
    const r = await build(dir);
    expect(r.components).toEqual([]);
    expect(r.manifest.steps['strip-comments.drop-comments']).toEqual({ operator: 'filter', isolation: 'native', timeoutMs: 1000 });
    expect(unitIsolation(r.manifest, ['strip-comments.drop-comments'])).toBe('native');
  });

  it('wasm-host - the WIT is written beside the build, and a rebuild rewrites nothing that did not change', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ssdk-wit-'));
    await cp(join(repo, 'examples', 'wat-filter'), dir, { recursive: true });
    const first = await build(dir);
    const wit = await readFile(join(first.witDir, 'dataflow.wit'), 'utf8');
    expect(wit).toContain('package examples:wat-filter@0.1.0;');
    expect(wit).toContain('world strip-comments {');
    const second = await build(dir);
    expect(second.components.map((c) => c.status)).toEqual(['cached']);
  });
});
