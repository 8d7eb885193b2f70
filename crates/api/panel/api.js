// The HTTP API (SPEC §5) as the signed-in customer: relative URLs, so the panel works behind
// any stage or domain; the bearer token from the session; problem+json turned into ApiError.

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || (status === 0 ? 'network' : 'http');
    this.detail = problem?.detail || problem?.title || '';
    this.retryAfter = retryAfter;
  }
}

/** A client that sends `token()` as the bearer and calls `onUnauthenticated` on a 401. */
export function client(token, onUnauthenticated) {
  async function call(method, path, body) {
    const headers = { accept: 'application/json' };
    const bearer = token();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new ApiError(0, null, null);
    }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!res.ok) {
      const retry = Number.parseInt(res.headers.get('retry-after') || '', 10);
      const error = new ApiError(res.status, json, Number.isFinite(retry) ? retry : null);
      if (res.status === 401 && onUnauthenticated) onUnauthenticated(error);
      throw error;
    }
    return json;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    patch: (path, body) => call('PATCH', path, body),
  };
}

/** `v1/services/a%2Fb/...`: a path segment, encoded. */
export const seg = (value) => encodeURIComponent(value);
