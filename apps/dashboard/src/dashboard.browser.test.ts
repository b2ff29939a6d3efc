/**
 * The dashboard in a real browser: headless Chromium (Debian's package) driven by
 * playwright-core, against the word-count example running embedded in this process with
 * records flowing. It loads, draws every operator of the plan, its counters move, the state
 * browser finds a key; a screenshot lands in apps/dashboard/test-artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { planOrThrow } from '@ssdk/plan';
import { memoryCheckpointStore, RuntimeTelemetry, runtimeDashboardSource, sourceFunctions, startEmbedded, type LogLine } from '@ssdk/runtime';
import { startDashboard } from '@ssdk/telemetry/dashboard';

const CHROMIUM = '/usr/bin/chromium';
const FILE = 'examples/word-count/services.yaml';
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** A fresh profile each run (a persistent context is how playwright takes a user-data-dir). */
async function launch(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: the dashboard test needs a real browser — apt-get install chromium`);
  const profile = await mkdtemp(join(tmpdir(), 'ssdk-chromium-'));
  cleanups.push(() => rm(profile, { recursive: true, force: true }));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 1100 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('dashboard in headless Chromium', () => {
  it('dashboard - shows every operator of the example, its counters move while records flow, rates and watermarks are plotted over time, dead letters grouped by reason', async () => {
    const { plan, dataflow } = await planOrThrow(FILE, { partitions: 1 });
    const logs: LogLine[] = [];
    const telemetry = (await RuntimeTelemetry.open({ serviceName: 'dashboard-test', collect: true, env: {}, logs: { write: (l) => logs.push(...l) } }))!;
    const checkpoints = memoryCheckpointStore();
    const df = await startEmbedded({
      plan,
      checkpoints,
      isolation: 'native',
      functions: { native: sourceFunctions(FILE, dataflow) },
      observer: telemetry.observer(),
    });
    cleanups.push(async () => {
      await df.stop();
      await telemetry.close();
    });
    const ui = await startDashboard({
      source: runtimeDashboardSource({ plan, mode: 'embedded', bus: df.bus, operators: () => telemetry.metrics!.collect(), checkpoints, logs: async (n) => logs.slice(-n) }),
      jaegerUrl: 'http://jaeger.test:16686',
    });
    cleanups.push(() => ui.close());

    // Records keep flowing while the page is open: the example's sentences, over and over.
    const sentences = (await readFile('examples/word-count/input/sentences.jsonl', 'utf8'))
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { value: string; timestamp: number });
    let flowing = true;
    let round = 0;
    const producer = (async () => {
      while (flowing) {
        const base = Date.now();
        await df.produce('sentences', sentences.slice(0, 40).map((s, i) => ({ value: s.value, timestamp: base + i })));
        round++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    cleanups.push(async () => {
      flowing = false;
      await producer;
    });

    const browser = await launch();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(ui.url);
    await page.waitForSelector('svg.graph g.operator');

    // The graph: one box per operator of the plan, the topics and the states.
    const drawn = await page.$$eval('svg.graph g.operator', (gs) => gs.map((g) => g.getAttribute('data-operator')));
    expect(drawn.sort()).toEqual(plan.operators.map((o) => o.id).sort());
    expect(await page.$$eval('svg.graph g.topic', (gs) => gs.map((g) => g.getAttribute('data-topic')))).toEqual(expect.arrayContaining(['topic:sentences', 'topic:words', 'topic:top-words']));
    expect(await page.$$eval('svg.graph g.state', (gs) => gs.length)).toBe(plan.states.length);

    // The counters move: the first operator's records-in grows between two polls.
    const firstOp = plan.operators[0]!.id;
    const recordsIn = async () => {
      const text = await page.$eval(`#operators tr[data-operator="${firstOp}"] td[data-field=in]`, (td) => td.textContent ?? '');
      return Number(text.replace(/,/g, ''));
    };
    await page.waitForFunction((op) => document.querySelector(`#operators tr[data-operator="${op}"]`) !== null, firstOp);
    const before = await recordsIn();
    await page.waitForFunction(
      ([op, n]) => Number((document.querySelector(`#operators tr[data-operator="${op}"] td[data-field=in]`)?.textContent ?? '0').replace(/,/g, '')) > (n as number),
      [firstOp, before] as const,
      { timeout: 15_000 },
    );
    const after = await recordsIn();
    expect(after).toBeGreaterThan(before);
    expect(round).toBeGreaterThan(0);
    // The graph shows a live rate for it too.
    await page.waitForFunction((op) => /^[\d,.]+ rec\/s/.test(document.querySelector(`svg.graph g[data-operator="${op}"] [data-field=rate]`)?.textContent ?? ''), firstOp);
    // Over time: each operator's rate is plotted from the polls, not only its latest number.
    await page.waitForFunction((op) => Number(document.querySelector(`#history .plot[data-operator="${op}"] polyline[data-series=rate]`)?.getAttribute('data-points') ?? '0') >= 3, firstOp, { timeout: 20_000 });
    expect(await page.$$eval('#history .plot', (ps) => ps.map((p) => p.getAttribute('data-operator')).sort())).toEqual(plan.operators.map((o) => o.id).sort());
    const ratePoints = await page.$eval(`#history .plot[data-operator="${firstOp}"] polyline[data-series=rate]`, (l) => (l.getAttribute('points') ?? '').split(' ').filter(Boolean));
    expect(ratePoints.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ratePoints.map((p) => p.split(',')[0])).size, 'points spread over time').toBeGreaterThanOrEqual(3);
    const windowOp = plan.operators.find((o) => o.kind === 'window')!.id;
    await page.waitForFunction((op) => Number(document.querySelector(`#history .plot[data-operator="${op}"] polyline[data-series=watermark]`)?.getAttribute('data-points') ?? '0') >= 2, windowOp, { timeout: 20_000 });
    // Dead letters grouped by reason: two records that do not fit the topic's type, one reason.
    await df.produce('sentences', [{ value: 42 as unknown as string, timestamp: Date.now() }, { value: 42 as unknown as string, timestamp: Date.now() }]);
    await page.waitForFunction(() => /×2/.test(document.querySelector('#problems li[data-reason]')?.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(await page.$$eval('#problems li[data-reason]', (lis) => lis.length)).toBe(1);
    // Each operator links to its traces in Jaeger.
    const link = await page.$eval(`#operators tr[data-operator="${firstOp}"] a`, (a) => a.getAttribute('href'));
    expect(link).toBe(`http://jaeger.test:16686/search?service=${encodeURIComponent(firstOp)}&operation=process&limit=20`);

    // The state browser: the running total of a word the sentences have.
    await page.selectOption('#state-name', 'word-totals');
    await page.fill('#state-key', 'river');
    await page.click('#state-form button');
    await page.waitForFunction(() => !(document.querySelector('#state-result')?.textContent ?? '').startsWith('Pick'));
    const found = (await page.textContent('#state-result'))!.trim();
    expect(found, 'the running total of `river`').toMatch(/^\d+$/);
    expect(Number(found)).toBeGreaterThan(0);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 90_000);
});
