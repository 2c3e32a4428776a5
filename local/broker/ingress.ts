/**
 * The Broker ingress, `POST /<namespace>/<broker>`, as Knative's
 * broker-ingress answers (eventing `pkg/broker/ingress/ingress_handler.go`):
 * 202 once the event is accepted (delivery happens afterwards), 405 for other
 * methods, 400 for a malformed path and then for anything that is not one
 * valid CloudEvent, and only after that 404 for an unknown Broker.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SenderCheck } from './auth.js';
import type { TriggerRoute } from './dispatcher.js';
import { IngressError } from './errors.js';
import { decodeMessage, type BrokerEvent, type EventFormatError } from './events.js';
import { passThroughHeaders } from './events.js';

/** A Broker and the Triggers subscribed to it, in manifest order. */
export interface BrokerRoutes {
  namespace: string;
  name: string;
  triggers: TriggerRoute[];
  /** With sender authentication on: who may send to it. */
  checkSender?: SenderCheck;
}

/** What the ingress needs from the Broker around it. */
export interface IngressContext {
  /** Keyed `<namespace>/<name>`. */
  brokers: ReadonlyMap<string, BrokerRoutes>;
  /** Accepts an event into a Broker; `carrier` holds the request's trace context. @throws {IngressError} */
  accept(broker: BrokerRoutes, event: BrokerEvent, headers: Record<string, string>, carrier: IncomingMessage['headers']): void;
  draining(): boolean;
  /** Called once per refused request. */
  rejected(status: number, reason: string, path: string): void;
  maxEventBytes: number;
  /** The sender check of a Broker, when sender authentication is on. */
  checkSender(broker: BrokerRoutes): SenderCheck | undefined;
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
    const [namespace, name] = segments.slice(1).map(decodeSegment);
    if (segments.length !== 3 || !namespace || !name) return refuse(400, `malformed path ${path}; POST events to /<namespace>/<broker>`);

    readBody(req, context.maxEventBytes).then(
      async (body) => {
        let event: BrokerEvent;
        try {
          event = decodeMessage(req.headers, body);
        } catch (err) {
          return refuse(400, (err as EventFormatError).message);
        }
        const broker = context.brokers.get(`${namespace}/${name}`);
        if (!broker) return refuse(404, `no Broker ${namespace}/${name}`);
        // Then who sent it (pkg/broker/ingress/ingress_handler.go): 401, 403.
        const refused = await context.checkSender(broker)?.(req.headers.authorization, event);
        if (refused) return refuse(refused.status, refused.message);
        if (context.draining()) return refuse(503, 'the Broker is shutting down');
        try {
          context.accept(broker, event, passThroughHeaders(req.headers), req.headers);
        } catch (err) {
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

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if ((size += chunk.length) > limit) throw new BodyTooLargeError(`event over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
