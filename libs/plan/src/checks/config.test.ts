import { describe, expect, it } from 'vitest';
import { checkDataflow } from '../check.ts';
import { modelBuilder, t } from '../testing.ts';

describe('config checks', () => {
  it('plan - config.partitions out of range', () => {
    const b = modelBuilder();
    const df = b.dataflow({
      settings: { partitions: 0 },
      topics: { in: t.string(), out: t.string() },
      services: { svc: { sources: [b.source('in')], sinks: [b.sink('out')] } },
    });
    expect(checkDataflow(df).diagnostics).toMatchObject([
      { code: 'invalid-partitions', message: '`config.partitions` is 0, not an integer from 1 to 1024', pos: df.meta.pos },
    ]);
  });
});
