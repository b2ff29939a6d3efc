import { describe, expect, it } from 'vitest';
import { formatJsonLine, parseJsonLines, readJsonLines, JsonLineError } from './jsonl.ts';

describe('records - JSON lines', () => {
  it('records - bare values, one per line, blank lines skipped', () => {
    expect(parseJsonLines('"a"\n\n{"n":1}\n42\n', false)).toEqual([{ value: 'a' }, { value: { n: 1 } }, { value: 42 }]);
  });

  it('records - record objects with key, timestamp, headers and bytes', () => {
    const [r] = parseJsonLines('{"key":"k","value":{"$bytes":"AQI="},"timestamp":5,"headers":{"h":"v"}}', true);
    expect(r).toEqual({ key: 'k', value: new Uint8Array([1, 2]), timestamp: 5, headers: { h: 'v' } });
    expect(formatJsonLine(r!, true)).toBe('{"key":"k","value":{"$bytes":"AQI="},"timestamp":5,"headers":{"h":"v"}}');
    expect(formatJsonLine(r!, false)).toBe('{"$bytes":"AQI="}');
  });

  it.each([
    ['{"value":1', 'line 1: not valid JSON'],
    ['{"val":1}', 'line 1: expected a record'],
    ['{"value":1,"time":2}', 'line 1: unknown field `time` in a record'],
    ['{"value":1,"timestamp":"now"}', 'line 1: `timestamp` must be epoch milliseconds'],
  ])('records - %s is rejected with its line', (line, message) => {
    expect(() => parseJsonLines(line, true)).toThrow(JsonLineError);
    expect(() => parseJsonLines(line, true)).toThrow(message);
  });

  it('records - read leniently, a bad line is given with its line, reason and bytes and the rest is read', () => {
    const bytes = Buffer.concat([Buffer.from('\uFEFF"a"\n{"n":\n\n'), Buffer.from([0x22, 0xff, 0x22, 0x0a]), Buffer.from('42')]);
    expect(readJsonLines(bytes, false)).toEqual([
      { line: 1, record: { value: 'a' } },
      { line: 2, reason: expect.stringMatching(/^not valid JSON \(/), bytes: new Uint8Array(Buffer.from('{"n":')) },
      { line: 4, reason: 'not UTF-8 text', bytes: new Uint8Array([0x22, 0xff, 0x22]) },
      { line: 5, record: { value: 42 } },
    ]);
    expect(readJsonLines(Buffer.from('{"value":1}\n{"val":1}\n'), true).map((l) => ('reason' in l ? l.reason : l.record))).toEqual([{ value: 1 }, expect.stringMatching(/^expected a record/)]);
  });
});
