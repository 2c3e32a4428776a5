/**
 * One HTTP POST of an event to a subscriber or sink, over keep-alive
 * connections, with a limit on the whole exchange. node:http rather than
 * fetch: measured here, fetch costs three times the CPU per delivery.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { HttpMessage } from './events.js';

/** What a subscriber answered. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request that ended without a complete response: timed out, abandoned (the Broker stopped), failed, or answered too much. */
export class SendError extends Error {
  override name = 'SendError';
  constructor(
    message: string,
    readonly reason: 'timeout' | 'aborted' | 'network' | 'too-large',
    /** A kept-alive connection the server had already closed: safe to send again at once. */
    readonly staleConnection = false,
  ) {
    super(message);
  }
}

/** Sends events over pooled connections. */
export interface Sender {
  /** @throws {SendError} when no complete response arrives. */
  post(url: string, message: HttpMessage, options: { timeoutMs?: number; signal: AbortSignal }): Promise<HttpResponse>;
  /** Closes pooled connections. */
  close(): void;
}

/** A sender with its own connection pools. */
export function createSender(maxResponseBytes: number): Sender {
  // Idle connections close before a Node server's default 5 s keep-alive timeout, so the pool rarely hands out one the server dropped.
  const agents = { http: new http.Agent({ keepAlive: true, timeout: 4_000 }), https: new https.Agent({ keepAlive: true, timeout: 4_000 }) };
  const once = (url: URL, message: HttpMessage, timeoutMs: number | undefined, signal: AbortSignal) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const abandoned = () => new SendError('delivery abandoned: the Broker is shutting down', 'aborted');
      if (signal.aborted) return reject(abandoned());
      const secure = url.protocol === 'https:';
      const headers = { ...message.headers, 'content-length': String(message.body.length) };
      const request = (secure ? https : http).request(url, { method: 'POST', agent: secure ? agents.https : agents.http, headers });
      let [cause, settled] = [undefined as SendError | undefined, false];
      const fail = (error: SendError) => {
        cause ??= error;
        request.destroy(error);
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => fail(new SendError(`no response within ${timeoutMs} ms`, 'timeout')), timeoutMs);
      const onAbort = () => fail(abandoned());
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const failed = (err: Error, responded: boolean) =>
        settle(() => {
          const code = (err as NodeJS.ErrnoException).code;
          const stale = !responded && request.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
          reject(cause ?? new SendError(err.message || 'connection failed', 'network', stale));
        });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if ((size += chunk.length) > maxResponseBytes) fail(new SendError(`response body over ${maxResponseBytes} bytes`, 'too-large'));
          else chunks.push(chunk);
        });
        response.on('end', () => settle(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })));
        response.on('error', (err) => failed(err, true));
        response.on('close', () => response.complete || failed(new Error('response ended early'), true));
      });
      request.on('error', (err) => failed(err, false));
      request.end(message.body);
    });

  return {
    async post(url, message, { timeoutMs, signal }) {
      const target = new URL(url);
      try {
        return await once(target, message, timeoutMs, signal);
      } catch (err) {
        // A pooled connection closed by the server under our feet is not the subscriber failing: send once more on a fresh one.
        if (err instanceof SendError && err.staleConnection) return once(target, message, timeoutMs, signal);
        throw err;
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
