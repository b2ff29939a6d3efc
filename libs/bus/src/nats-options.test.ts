import { describe, expect, it } from 'vitest';
import { BusConfigError, InvalidTopicError } from './errors.ts';
import { describeTopic, parseDescription, partitionSubject, streamNameOf, streamNamePrefix, topicLayout } from './nats-names.ts';
import { compileNatsBusOptions } from './nats-options.ts';
import { backoffDelay, isTransientNatsError } from './retry.ts';

describe('bus - nats options', () => {
  it('bus - fills defaults, reading NATS_URL and SSDK_SUBJECT_PREFIX', () => {
    const o = compileNatsBusOptions({ env: {} });
    expect(o).toMatchObject({
      servers: ['nats://127.0.0.1:4222'],
      subjectPrefix: 'ssdk',
      replicas: 1,
      storage: 'file',
      duplicateWindowMs: 120_000,
      maxAgeMs: 0,
      maxBytes: -1,
      maxMessages: -1,
      maxPayload: undefined,
      maxReconnectAttempts: -1,
      maxAckPending: 1_000,
      retryTimeoutMs: 60_000,
    });
    const fromEnv = compileNatsBusOptions({ env: { NATS_URL: 'nats://a:4222, nats://b:4222', SSDK_SUBJECT_PREFIX: 'acme.prod' } });
    expect(fromEnv.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(fromEnv.subjectPrefix).toBe('acme.prod');
    expect(compileNatsBusOptions({ servers: 'nats://x:1', env: { NATS_URL: 'nats://y:2' } }).servers).toEqual(['nats://x:1']);
  });

  it('bus - refuses options that cannot work', () => {
    expect(() => compileNatsBusOptions({ replicas: 0 })).toThrow(BusConfigError);
    expect(() => compileNatsBusOptions({ replicas: 0 })).toThrow('replicas must be an integer from 1 to 5, got 0');
    expect(() => compileNatsBusOptions({ subjectPrefix: 'a.*' })).toThrow(/subject prefix must be dot-separated tokens/);
    expect(() => compileNatsBusOptions({ subjectPrefix: 'a.*' })).toThrow(BusConfigError);
    expect(() => compileNatsBusOptions({ subjectPrefix: 'a..b' })).toThrow(/subject prefix/);
    expect(() => compileNatsBusOptions({ servers: ' , ' })).toThrow(/servers is empty/);
    expect(() => compileNatsBusOptions({ storage: 'disk' as 'file' })).toThrow(/storage must be 'file' or 'memory'/);
    expect(() => compileNatsBusOptions({ duplicateWindowMs: 60_000, maxAgeMs: 30_000 })).toThrow(/cannot be longer than maxAgeMs/);
    expect(() => compileNatsBusOptions({ pullExpiresMs: 500 })).toThrow(/pullExpiresMs must be an integer from 1000/);
    expect(() => compileNatsBusOptions({ maxPublishInFlight: 1.5 })).toThrow(/maxPublishInFlight/);
    expect(compileNatsBusOptions({ maxBytes: -1, maxMessages: 10 })).toMatchObject({ maxBytes: -1, maxMessages: 10 });
  });
});

describe('bus - nats names', () => {
  it('bus - stream names are safe and never shared by two topics', () => {
    expect(streamNameOf('ssdk', 'sentences')).toBe('ssdk_sentences');
    expect(streamNameOf('ssdk', 'top-words')).toBe('ssdk_top-words');
    expect(streamNameOf('acme.prod', 'orders')).toBe('acme_prod_orders');
    const dotted = streamNameOf('ssdk', 'a.b');
    expect(dotted).toMatch(/^ssdk_a_b_[0-9a-f]{8}$/);
    expect(dotted).not.toBe(streamNameOf('ssdk', 'a_b'));
    expect(streamNameOf('ssdk', 'a b*c>d/e')).toMatch(/^ssdk_a_b_c_d_e_[0-9a-f]{8}$/);
    const long = streamNameOf('ssdk', 'x'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(128);
    expect(long).not.toBe(streamNameOf('ssdk', 'x'.repeat(301)));
    expect(streamNamePrefix('acme.prod')).toBe('acme_prod_');
  });

  it('bus - subjects: the default template, a plan template, and bad ones', () => {
    const t = topicLayout('ssdk', { name: 'words', partitions: 8 });
    expect(t).toEqual({ name: 'words', partitions: 8, subject: 'ssdk.topic.words.{partition}', base: 'ssdk.topic.words', stream: 'ssdk_words' });
    expect(partitionSubject(t, 5)).toBe('ssdk.topic.words.5');
    const internal = topicLayout('ssdk', { name: 'count-words.split-sentence.out', partitions: 2, subject: 'ssdk.ex.wc.internal.count-words.split-sentence.{partition}' });
    expect(partitionSubject(internal, 1)).toBe('ssdk.ex.wc.internal.count-words.split-sentence.1');
    expect(() => topicLayout('ssdk', { name: 'x', partitions: 0 })).toThrow(InvalidTopicError);
    expect(() => topicLayout('ssdk', { name: '', partitions: 1 })).toThrow(/cannot be empty/);
    expect(() => topicLayout('ssdk', { name: 'x', partitions: 1, subject: 'a.b' })).toThrow(/must end with/);
    expect(() => topicLayout('ssdk', { name: 'x', partitions: 1, subject: 'a.{partition}.{partition}' })).toThrow(/must end with/);
    expect(() => topicLayout('ssdk', { name: 'x', partitions: 1, subject: 'a.*.{partition}' })).toThrow(/cannot be a NATS subject/);
    expect(() => topicLayout('ssdk', { name: 'a..b', partitions: 1 })).toThrow(/tokens must be non-empty/);
  });

  it('bus - a stream description round-trips the topic, and foreign descriptions are not topics', () => {
    const t = topicLayout('p', { name: 'words', partitions: 3 });
    expect(parseDescription(describeTopic('p', t))).toEqual({ prefix: 'p', topic: 'words', partitions: 3, subject: 'p.topic.words.{partition}' });
    expect(parseDescription(undefined)).toBeUndefined();
    expect(parseDescription('orders of the day')).toBeUndefined();
    expect(parseDescription('ssdk topic {not json')).toBeUndefined();
    expect(parseDescription('ssdk topic {"v":1,"prefix":"p","topic":"t","partitions":0,"subject":"s"}')).toBeUndefined();
    expect(parseDescription('ssdk topic {"v":2,"prefix":"p","topic":"t","partitions":1,"subject":"s"}')).toBeUndefined();
  });
});

describe('bus - nats retry', () => {
  it('bus - backoff doubles up to the cap, with jitter between half and all of it', () => {
    expect(backoffDelay(0, 100, 2000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 2000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 2000, () => 1)).toBe(800);
    expect(backoffDelay(10, 100, 2000, () => 0.5)).toBe(1500);
    expect(backoffDelay(1000, 100, 2000, () => 1)).toBe(2000);
  });

  it('bus - timeouts and lost connections are transient; other errors are not', () => {
    expect(isTransientNatsError(new Error('TIMEOUT'))).toBe(true);
    expect(isTransientNatsError(Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' }))).toBe(true);
    expect(isTransientNatsError(new Error('JetStream system temporarily unavailable'))).toBe(true);
    expect(isTransientNatsError(new Error('invalid subject'))).toBe(false);
    expect(isTransientNatsError('nope')).toBe(false);
  });
});
