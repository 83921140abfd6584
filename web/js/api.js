// The HTTP API, as the pages use it: same-origin JSON, the session cookie (or a
// pasted bearer token), and errors turned into readable ApiError objects.

const TOKEN_KEY = 'pointcast.token';

/** An error the person can read: the API's own code and message. */
export class ApiError extends Error {
  constructor(status, code, message, body = {}) {
    super(message);
    this.status = status;
    this.code = code;
    /** The whole error object: a 409 may carry more (e.g. `available`). */
    this.body = body;
  }
}

/** A bearer token pasted into the admin console (the cookie covers form logins). */
export function bearer() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setBearer(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Calls `/api/v1{path}`. Resolves with the parsed body (null for 204), rejects with
 * an ApiError whose message is the server's, or a network message when offline.
 */
export async function api(method, path, body, { idempotencyKey } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const token = bearer();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'network');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText || `HTTP ${res.status}`, e);
  }
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b, o) => api('POST', p, b === undefined ? {} : b, o);
export const put = (p, b) => api('PUT', p, b === undefined ? {} : b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

/** Lists come wrapped (`{stores: [...]}`) or bare; take whichever array is there. */
export function list(data, ...keys) {
  if (Array.isArray(data)) return data;
  if (!data) return [];
  for (const k of keys) if (Array.isArray(data[k])) return data[k];
  const arr = Object.values(data).find(Array.isArray);
  return arr || [];
}

export async function login(loginName, password) {
  setBearer('');
  return post('/auth/login', { login: loginName, password });
}

export async function logout() {
  try {
    await post('/auth/logout');
  } finally {
    setBearer('');
  }
}

/** The caller, or null when nobody is logged in. */
export async function me() {
  try {
    return await get('/me');
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}
