import { describe, expect, test } from 'vitest';
import { parseDuration } from './durations.ts';

describe('durations', () => {
  test('spec - humane durations become milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('20s')).toBe(20_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h 30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
  });

  test('spec - plain integers are milliseconds', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration(0)).toBe(0);
  });

  test('spec - anything else is not a duration', () => {
    for (const bad of ['20 sec', 'abc', '', 's', '5x', '-5s', '1m30', '20s!']) {
      expect(parseDuration(bad), bad).toBeUndefined();
    }
    expect(parseDuration(1.5)).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
  });
});
