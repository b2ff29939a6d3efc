import { describe, expect, it } from 'vitest';
import type { DataflowStatus } from '@ssdk/control-plane';
import { bufferIo } from '../io.ts';
import { renderStatus } from './status.ts';

const operator = { kind: 'map', partitions: 1, processes: 1, pids: [1], leases: 1, leaseOwners: 1, recordsIn: 10, recordsOut: 10, failed: 0, late: 0, lag: 0 };

describe('status', () => {
  it('status - a failing unit says so in its row and why under the table, one line per unit', () => {
    const d: DataflowStatus = {
      dataflow: 'test/h1',
      version: 1,
      hash: 'a'.repeat(64),
      layoutFingerprint: 'x',
      deployedAt: 0,
      stateSchema: 'ssdk_test_h1',
      subjectPrefix: 'ssdk',
      partitions: 1,
      operators: [
        { ...operator, id: 'svc.ok', state: 'running' },
        { ...operator, id: 'svc.count', state: 'failing', reason: 'PostgreSQL at 127.0.0.1:5432 did not answer: connect ECONNREFUSED', lag: 120 },
      ],
    };
    const text = renderStatus(d, bufferIo());
    expect(text).toMatch(/^svc\.count\s+map\s+.*\s120\s+-\s+failing$/m);
    expect(text).toContain('  failing svc.count: PostgreSQL at 127.0.0.1:5432 did not answer: connect ECONNREFUSED\n');
    expect(text).not.toContain('svc.ok:');
  });
});
