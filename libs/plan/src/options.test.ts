import { describe, expect, it } from 'vitest';
import { PlanOptionsError } from './errors.ts';
import { compilePlanOptions } from './options.ts';

describe('plan options', () => {
  it('plan - defaults: 8 partitions, no fusion, prefix ssdk', () => {
    expect(compilePlanOptions()).toEqual({ partitions: 8, fuse: false, subjectPrefix: 'ssdk' });
  });

  it("plan - partitions come from the caller, then the file's config", () => {
    expect(compilePlanOptions({}, { partitions: 3 }).partitions).toBe(3);
    expect(compilePlanOptions({ partitions: 5 }, { partitions: 3 }).partitions).toBe(5);
  });

  it('plan - out-of-range options throw a typed error', () => {
    for (const partitions of [0, -1, 1.5, 1025]) {
      expect(() => compilePlanOptions({ partitions })).toThrow(PlanOptionsError);
    }
    try {
      compilePlanOptions({ subjectPrefix: 'bad prefix.*' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlanOptionsError);
      expect(e).toMatchObject({ name: 'PlanOptionsError', code: 'invalid-plan-option', domain: 'user', option: 'subjectPrefix' });
    }
    expect(compilePlanOptions({ subjectPrefix: 'acme.prod_1' }).subjectPrefix).toBe('acme.prod_1');
  });
});
