import { describe, expect, test } from 'vitest';
import { camelCase, kebabCase, pascalCase, snakeCase } from './names.ts';

describe('names', () => {
  test('spec - kebabCase joins words of any spelling with dashes', () => {
    expect(kebabCase('filterSentence')).toBe('filter-sentence');
    expect(kebabCase('filter_sentence')).toBe('filter-sentence');
    expect(kebabCase('CarLocation')).toBe('car-location');
    expect(kebabCase('HTTPServer')).toBe('http-server');
    expect(kebabCase('sha256Hash')).toBe('sha256-hash');
    expect(kebabCase('_event_time')).toBe('event-time');
  });

  test('spec - camelCase, snakeCase and pascalCase convert between the spellings', () => {
    expect(camelCase('filter-sentence')).toBe('filterSentence');
    expect(camelCase('increment_word_count')).toBe('incrementWordCount');
    expect(camelCase('CarLocation')).toBe('carLocation');
    expect(snakeCase('filterSentence')).toBe('filter_sentence');
    expect(snakeCase('car-location')).toBe('car_location');
    expect(pascalCase('car-location')).toBe('CarLocation');
    expect(pascalCase('stolen_plate')).toBe('StolenPlate');
  });
});
