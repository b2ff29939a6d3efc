import { describe, expect, it } from 'vitest';
import { runChain, type ChainStep, type FunctionContext } from './chain.ts';
import { httpHostAllowed, httpRequestOf, type HttpRequest } from './http.ts';

const step = (grants?: ChainStep['grants']): ChainStep => ({
  id: 'svc.call',
  operator: 'map',
  fn: (url: unknown, ctx: unknown) => (ctx as FunctionContext).http(url as string, { timeoutMs: 50 }).json(),
  ...(grants ? { grants } : {}),
});
const rec = (value: string) => ({ key: null, value, timestamp: 0 });

describe('engine - ctx.http', () => {
  it('engine - a host matches an entry by name on any port, by name and port, by subdomain wildcard, or `*`', () => {
    const allowed = (url: string, hosts: string[]) => httpHostAllowed(new URL(url), hosts);
    expect(allowed('https://api.example.com/x', ['api.example.com'])).toBe(true);
    expect(allowed('http://api.example.com:8080/x', ['api.example.com'])).toBe(true);
    expect(allowed('http://API.Example.com/x', ['api.example.com'])).toBe(true);
    expect(allowed('http://127.0.0.1:8080/', ['127.0.0.1:8080'])).toBe(true);
    expect(allowed('http://127.0.0.1:8081/', ['127.0.0.1:8080'])).toBe(false);
    expect(allowed('https://127.0.0.1/', ['127.0.0.1:443'])).toBe(true);
    expect(allowed('https://a.b.example.org/', ['*.example.org'])).toBe(true);
    expect(allowed('https://example.org/', ['*.example.org'])).toBe(false);
    expect(allowed('https://evilexample.org/', ['*.example.org'])).toBe(false);
    expect(allowed('https://api.example.com.evil.io/', ['api.example.com'])).toBe(false);
    expect(allowed('http://anything:1/', ['*'])).toBe(true);
    expect(allowed('http://localhost/', [])).toBe(false);
  });

  it('engine - the request carries defaults and limits; a JSON body sets its content type; bad options fail', () => {
    expect(httpRequestOf('http://h/x', undefined, ['h'], 's')).toEqual({ url: 'http://h/x', method: 'GET', headers: {}, timeoutMs: 5000, retries: 2, maxBytes: 1 << 20 });
    const post = httpRequestOf('http://h/x', { body: { a: 1 }, headers: { 'X-Id': '7' } }, ['h'], 's');
    expect(post).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-id': '7' }, retries: 0 });
    expect(() => httpRequestOf('http://h/x', { timeoutMs: 0 }, ['h'], 's')).toThrow(/timeoutMs must be a number from 1 to 60000/);
    expect(() => httpRequestOf('http://h/x', { retries: 9 }, ['h'], 's')).toThrow(/retries must be a number from 0 to 5/);
    expect(() => httpRequestOf('http://h/x', { body: 'x'.repeat((1 << 20) + 1) }, ['h'], 's')).toThrow(/request body is larger than 1048576 bytes/);
    expect(() => httpRequestOf('/relative', undefined, ['h'], 's')).toThrow(/is not an absolute URL/);
  });

  it('engine - only a granted step reaches the host, only for its hosts; the answer or the failure kind decides the record', () => {
    const seen: HttpRequest[] = [];
    const http = (r: HttpRequest) => {
      seen.push(r);
      if (r.url.endsWith('/slow')) return { kind: 'timeout' as const, error: `ctx.http: GET ${r.url} timed out after 50 ms` };
      return { status: 200, headers: {}, body: '{"ok":true}' };
    };
    const inputs = ['http://api.test/a', 'http://api.test/slow', 'http://other.test/a'].map(rec);
    const granted = runChain([step({ http: ['api.test'] })], inputs, { http });
    expect(granted.outputs.map((o) => [o.input, o.value])).toEqual([[0, { ok: true }]]);
    expect(granted.failures.map((f) => [f.input, f.reason])).toEqual([
      [1, 'HttpTimeoutError: ctx.http: GET http://api.test/slow timed out after 50 ms'],
      [2, "HttpRefusedError: ctx.http: host other.test is not in step `svc.call`'s http grant (api.test): add it with `grants: [{http: [other.test]}]`"],
    ]);
    // The refused host never reached the runtime.
    expect(seen.map((r) => r.url)).toEqual(['http://api.test/a', 'http://api.test/slow']);
    const none = runChain([step()], [rec('http://api.test/a')], { http });
    expect(none.failures.map((f) => f.reason)).toEqual([expect.stringMatching(/^GrantDeniedError: ctx\.http\(\) needs the `http` grant, which step `svc\.call` does not have/)]);
    expect(seen).toHaveLength(2);
  });
});
