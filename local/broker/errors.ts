/** The errors the Broker stand-in raises, named once. */

/**
 * A Broker or Trigger manifest the stand-in cannot run (one Knative would
 * refuse, or a subscriber that does not resolve). Raised by `createBroker`,
 * so a bad manifest fails at start.
 */
export class BrokerConfigError extends Error {
  override name = 'BrokerConfigError';
}

/**
 * An event the ingress refused, with the HTTP status a POST would have got:
 * 400 (not a valid CloudEvent, or its TTL ran out), 404 (no such Broker),
 * 503 (the Broker is draining).
 */
export class IngressError extends Error {
  override name = 'IngressError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A message that is not one valid CloudEvent: the ingress answers it 400. */
export class EventFormatError extends IngressError {
  override name = 'EventFormatError';
  constructor(message: string) {
    super(400, message);
  }
}
