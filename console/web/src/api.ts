/** The console's API as the page calls it: same origin, the session cookie, the CSRF token on every change. */
import type { SessionInfo } from '../../server/api-types.js';

/** A problem document (RFC 9457) the API answered. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSignedOut: () => void = () => undefined;

/** Called when any call finds the session gone (401). */
export function whenSignedOut(listener: () => void): void {
  onSignedOut = listener;
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const answer = (await res.json().catch(() => ({}))) as { detail?: string; errors?: { path: string; message: string }[] };
  if (!res.ok) {
    if (res.status === 401 && path !== 'session') onSignedOut();
    throw new ApiError(res.status, answer.detail ?? `${res.status} ${res.statusText}`, answer.errors);
  }
  return answer as T;
}

/** The session, if the browser has one. */
export async function currentSession(): Promise<SessionInfo | undefined> {
  try {
    const info = await api<SessionInfo>('GET', 'session');
    csrfToken = info.csrfToken;
    return info;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function signIn(token: string): Promise<SessionInfo> {
  const info = await api<SessionInfo>('POST', 'session', { token });
  csrfToken = info.csrfToken;
  return info;
}

export async function signOut(): Promise<void> {
  await api('DELETE', 'session');
  csrfToken = undefined;
}
