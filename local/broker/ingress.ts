/**
 * The Broker ingress, `POST /<namespace>/<broker>`, as Knative's
 * broker-ingress answers: 202 once the event is accepted (delivery happens
 * afterwards), 400 for anything that is not one valid CloudEvent, 404 for an
 * unknown Broker, 405 for other methods.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IngressError } from './errors.js';
import { decodeMessage, EventFormatError, type BrokerEvent } from './events.js';
import { passThroughHeaders } from './headers.js';
import { brokerKey, type BrokerResource } from './resources.js';

/** What the ingress needs from the Broker around it. */
export interface IngressContext {
  brokers: ReadonlyMap<string, BrokerResource>;
  /** Accepts an event into a Broker. @throws {IngressError} */
  accept(broker: BrokerResource, event: BrokerEvent, headers: Record<string, string>): void;
  draining(): boolean;
  /** Called once per refused request. */
  rejected(status: number, reason: string, path: string): void;
  maxEventBytes: number;
}

/** A node:http request listener serving the ingress of every Broker in `context`. */
export function createIngress(context: IngressContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const refuse = (status: number, reason: string) => {
      context.rejected(status, reason, path);
      req.resume();
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${reason}\n`);
    };

    res.setHeader('Allow', 'POST, OPTIONS');
    if (req.method === 'OPTIONS') {
      // CloudEvents webhook validation: any origin, any rate.
      res.writeHead(200, { 'WebHook-Allowed-Origin': '*', 'WebHook-Allowed-Rate': '*' });
      res.end();
      return;
    }
    if (req.method !== 'POST') return refuse(405, `${req.method} is not allowed; POST a CloudEvent`);

    const segments = path.replace(/\/+$/, '').split('/');
    if (segments.length === 1) return refuse(404, 'POST events to /<namespace>/<broker>');
    if (segments.length !== 3 || !segments[1] || !segments[2]) return refuse(400, `malformed path ${path}; POST events to /<namespace>/<broker>`);
    const namespace = decodeSegment(segments[1]);
    const name = decodeSegment(segments[2]);
    if (namespace === undefined || name === undefined) return refuse(400, `malformed path ${path}`);
    const broker = context.brokers.get(brokerKey(namespace, name));
    if (!broker) return refuse(404, `no Broker ${namespace}/${name}`);
    if (context.draining()) return refuse(503, 'the Broker is shutting down');

    readBody(req, context.maxEventBytes).then(
      (body) => {
        try {
          context.accept(broker, decodeMessage(req.headers, body), passThroughHeaders(req.headers));
        } catch (err) {
          if (err instanceof EventFormatError) return refuse(400, err.message);
          if (err instanceof IngressError) return refuse(err.status, err.message);
          return refuse(500, `the Broker failed to accept the event: ${(err as Error).message}`);
        }
        res.writeHead(202);
        res.end();
      },
      (err: Error) => refuse(err instanceof BodyTooLargeError ? 413 : 400, err.message),
    );
  };
}

class BodyTooLargeError extends Error {}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLargeError(`event over ${limit} bytes`));
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
