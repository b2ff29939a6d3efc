import { describe, expect, it } from 'vitest';
import { parseCron, type CronSchedule } from './cron.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function cron(expression: string): CronSchedule {
  const c = parseCron(expression);
  if ('error' in c) throw new Error(c.error);
  return c;
}

describe('cron', () => {
  it.each([
    ['* * * * *', '2026-12-06T10:15:30Z', '2026-12-06T10:16:00.000Z'],
    ['*/15 * * * *', '2026-12-06T10:15:00Z', '2026-12-06T10:30:00.000Z'],
    ['0 3 * * *', '2026-12-06T10:15:00Z', '2026-12-07T03:00:00.000Z'],
    ['0 0 1 JAN *', '2026-12-06T10:15:00Z', '2027-01-01T00:00:00.000Z'],
    ['30 9 * * MON-FRI', '2026-12-05T10:00:00Z', '2026-12-07T09:30:00.000Z'], // a Saturday: next Monday
    ['0 0 13 * 5', '2026-12-06T00:00:00Z', '2026-12-11T00:00:00.000Z'], // day 13 or a Friday: Friday comes first
    ['*/5 * * * * *', '2026-12-06T10:15:02.500Z', '2026-12-06T10:15:05.000Z'],
    ['0 0 12 * * ? 2027', '2026-12-06T10:15:00Z', '2027-01-01T12:00:00.000Z'],
    ['0 12 29 2 *', '2027-03-01T00:00:00Z', '2028-02-29T12:00:00.000Z'],
    ['0 0 * * 7', '2026-12-06T10:00:00Z', '2026-12-13T00:00:00.000Z'], // 7 is Sunday too
  ])('cron - `%s` after %s fires at %s', (expression, after, expected) => {
    expect(iso(cron(expression).next(at(after)))).toBe(expected);
  });

  it('cron - the next fire time is strictly after the given one', () => {
    expect(iso(cron('0 * * * *').next(at('2026-12-06T10:00:00Z')))).toBe('2026-12-06T11:00:00.000Z');
  });

  it('cron - a date that never comes fires never', () => {
    expect(cron('0 0 31 2 *').next(at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });

  it.each([
    ['every hour', 'five fields'],
    ['61 * * * *', 'minute `61` is not between 0 and 59'],
    ['* * * FOO *', 'month `FOO` is not between 1 and 12 (or JAN–DEC)'],
    ['5-1 * * * *', 'minute range `5-1` runs backwards'],
    ['*/0 * * * *', 'a step must be 1 or more'],
  ])('cron - `%s` is refused: %s', (expression, message) => {
    const c = parseCron(expression);
    expect('error' in c && c.error).toContain(message);
  });
});
