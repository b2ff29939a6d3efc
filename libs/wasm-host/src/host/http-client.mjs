// Makes one `ctx.http` request for the host (plain JavaScript: the callout thread of native
// chains loads it as it is, and the main thread of sandboxed ones imports it). The engine has
// already checked the grant and the arguments (engine/src/http.ts): here are the limits that
// need the network — the timeout per attempt, the response size, retries with backoff — and
// no redirect is followed (its target would escape the grant: the function gets the 3xx).

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const BACKOFF_MS = 100;

/** @param {import('@ssdk/engine').HttpRequest} request @returns {Promise<import('@ssdk/engine').HttpAnswer>} */
export async function performHttp(request) {
  const attempts = request.retries + 1;
  let last;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((done) => setTimeout(done, Math.min(BACKOFF_MS * 2 ** (attempt - 2), 2000)));
    last = await once(request);
    const again = 'error' in last ? last.kind === 'timeout' || last.kind === 'failed' : RETRY_STATUS.has(last.status);
    if (!again) return last;
  }
  if ('error' in last && attempts > 1) return { ...last, error: `${last.error} (${attempts} attempts)` };
  return last;
}

async function once(request) {
  const what = `ctx.http: ${request.method} ${request.url}`;
  const signal = AbortSignal.timeout(request.timeoutMs);
  let response;
  try {
    response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual', signal });
  } catch (error) {
    if (signal.aborted) return { kind: 'timeout', error: `${what} timed out after ${request.timeoutMs} ms` };
    return { kind: 'failed', error: `${what} failed: ${reason(error)}` };
  }
  const headers = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > request.maxBytes) {
    await response.body?.cancel().catch(() => {});
    return { kind: 'too-large', error: `${what}: the response (${declared} bytes) is larger than ${request.maxBytes} bytes (maxBytes)` };
  }
  const chunks = [];
  let size = 0;
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        size += chunk.byteLength;
        if (size > request.maxBytes) {
          await response.body.cancel().catch(() => {});
          return { kind: 'too-large', error: `${what}: the response is larger than ${request.maxBytes} bytes (maxBytes)` };
        }
        chunks.push(chunk);
      }
    }
  } catch (error) {
    if (signal.aborted) return { kind: 'timeout', error: `${what} timed out after ${request.timeoutMs} ms (reading the response)` };
    return { kind: 'failed', error: `${what} failed reading the response: ${reason(error)}` };
  }
  const body = new TextDecoder().decode(Buffer.concat(chunks));
  return { status: response.status, headers, body };
}

function reason(error) {
  const cause = error && error.cause;
  const code = cause && (cause.code || cause.message);
  return code ? String(code) : String(error && error.message ? error.message : error);
}
