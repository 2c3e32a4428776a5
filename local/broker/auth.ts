/**
 * Sender authentication at the Broker (the `authentication-oidc` feature), as
 * eventing's ingress applies `pkg/auth/verifier.go` `VerifyRequest`: a JWT
 * for the Broker's audience or 401, then an EventPolicy that admits its
 * subject and the event, or 403. Deliveries carry a token of the Trigger's
 * own identity for the subscriber's audience, as the broker filter sends them.
 */
import { admits, audienceOf, isKind, nameOf, namespaceOf, policiesFor, type EventPolicyModel, type Manifest } from '../../knative/model/index.js';
import { IngressError } from './errors.js';
import type { BrokerEvent } from './events.js';

/** The token issuer the Broker trusts and signs with. */
export interface BrokerOidc {
  /** The subject of a token for `audience`. @throws for a token that is not the issuer's, not for `audience`, or expired */
  verify(token: string, audience: string): Promise<string>;
  /** A token of `subject` for `audience`. */
  token(subject: string, audience: string): Promise<string>;
}

/** What the ingress asks of a request: undefined to go on, else the refusal. */
export type SenderCheck = (authorization: string | undefined, event: BrokerEvent) => Promise<IngressError | undefined>;

/** The sender check of the Broker `namespace/name` under the policies and `default-authorization-mode` of the model. */
export function senderCheck(
  oidc: BrokerOidc,
  model: { eventPolicies: readonly EventPolicyModel[]; features: Readonly<Record<string, string>> },
  manifests: readonly Manifest[],
  broker: { namespace: string; name: string },
): SenderCheck {
  const audience = audienceOf('eventing.knative.dev', 'Broker', broker.namespace, broker.name);
  const doc = manifests.find((d) => isKind(d, 'eventing.knative.dev', 'Broker') && nameOf(d) === broker.name && namespaceOf(d, broker.namespace) === broker.namespace)!;
  const applying = policiesFor(model.eventPolicies, doc, broker.namespace);
  const mode = model.features['default-authorization-mode'] ?? 'allow-same-namespace';
  return async (authorization, event) => {
    const jwt = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!jwt) return new IngressError(401, `the Broker takes events with Authorization: Bearer <JWT> for audience ${audience} only (sender authentication is on)`);
    let subject: string;
    try {
      subject = await oidc.verify(jwt, audience);
    } catch (err) {
      return new IngressError(401, `the token is not valid for audience ${audience}: ${(err as Error).message}`);
    }
    if (admits(applying, subject, event.attributes, broker.namespace, mode)) return undefined;
    const by = applying.length > 0 ? `no EventPolicy of ${applying.map((p) => p.name).join(', ')} admits it` : `default-authorization-mode is ${mode}`;
    return new IngressError(403, `${subject} may not send ${String(event.attributes.type)} to Broker ${broker.namespace}/${broker.name}: ${by}`);
  };
}
