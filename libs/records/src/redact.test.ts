import { describe, expect, it } from 'vitest';
import { redact, redactedMessage } from './redact.ts';

describe('records - redact', () => {
  it('records - hides passwords and tokens of URLs, keeps the user and the host', () => {
    expect(redact('postgres://app:s3cret@db:5432/x?sslmode=require')).toBe('postgres://app:***@db:5432/x?sslmode=require');
    expect(redact('nats://tok3n@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(redact('cannot connect to nats://a:p@h1:4222, tls://b:q@h2:4222')).toBe('cannot connect to nats://a:***@h1:4222, tls://b:***@h2:4222');
    expect(redact('postgresql://u:p%40ss@h/db')).toBe('postgresql://u:***@h/db');
    expect(redact('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });

  it('records - hides secret parameters and nkey seeds', () => {
    expect(redact('postgres://h/db?user=u&password=pw&sslmode=verify-full')).toBe('postgres://h/db?user=u&password=***&sslmode=verify-full');
    expect(redact("host=h password='p w' sslpassword=x")).toBe('host=h password=*** sslpassword=***');
    expect(redact('seed SUAGEATAT3BLRB36TXOMVPBA63JWPPHFAK47ORN57WM4JFC3RALMYH4HAM leaked')).toBe('seed *** leaked');
    expect(redactedMessage(new Error('at nats://u:pw@h'))).toBe('at nats://u:***@h');
  });
});
