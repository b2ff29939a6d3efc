import type { HttpAnswer, HttpRequest } from '@ssdk/engine';

/** Makes one `ctx.http` request: timeout per attempt, size limit, retries; never follows a redirect. */
export function performHttp(request: HttpRequest): Promise<HttpAnswer>;
