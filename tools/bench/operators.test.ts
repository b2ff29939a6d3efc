import { describe, expect, it } from 'vitest';
import { startProc, upstreamFirst } from './operators.ts';

// A child that uses `before` ms of CPU, says it is ready, uses `after` ms more and exits. CPU
// time, not wall time: a busy box stretches the wall clock, not what the loops use.
const burner = (before: number, after: number) => `
  const burn = (ms) => { const t = process.cpuUsage(); while ((process.cpuUsage(t).user + process.cpuUsage(t).system) / 1000 < ms); };
  burn(${before});
  process.stderr.write('ready\\n');
  burn(${after});
`;

describe('startProc', () => {
  it("counts a process's CPU from its own ready line to its exit, not its start-up", async () => {
    const p = startProc('burner', ['-e', burner(600, 300)], 'ready');
    await p.running;
    await p.exited;
    // 0.3 s after the line (less at most a poll interval at the end, more the exit's own);
    // counting the start-up too would be ≥ 0.9 s.
    expect(p.cpuSinceReady()).toBeGreaterThanOrEqual(0.25);
    expect(p.cpuSinceReady()).toBeLessThan(0.5);
  });

  it('counts each process from its own ready line when several start at once', async () => {
    // The first is ready at once and works; the second starts slowly: counted from when both
    // were ready, the first's work would be left out.
    const early = startProc('early', ['-e', burner(0, 500)], 'ready');
    const late = startProc('late', ['-e', burner(400, 0)], 'ready');
    await Promise.all([early.running, late.running]);
    await Promise.all([early.exited, late.exited]);
    expect(early.cpuSinceReady()).toBeGreaterThanOrEqual(0.45);
    expect(late.cpuSinceReady()).toBeLessThan(0.2);
  });
});

describe('upstreamFirst', () => {
  const unit = (id: string, inputs: string[], outputs: string[]) => ({ id, inputs: inputs.map((topic) => ({ topic })), outputs });

  it('puts each unit after the units that write the topics it reads, whatever the order given', () => {
    const window = unit('q7.keep-highest', ['q7.only-bids.out'], ['q7.keep-highest.out']);
    const sink = unit('q7.each-bid', ['q7.keep-highest.out'], ['q7']);
    const source = unit('q7.only-bids', ['events'], ['q7.only-bids.out']);
    expect(upstreamFirst([sink, window, source])).toEqual(['q7.only-bids', 'q7.keep-highest', 'q7.each-bid']);
  });

  it('refuses units that read each other in a cycle', () => {
    expect(() => upstreamFirst([unit('a', ['b.out'], ['a.out']), unit('b', ['a.out'], ['b.out'])])).toThrow(/cycle: a, b/);
  });
});
