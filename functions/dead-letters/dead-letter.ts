/** A dead letter as GET /dead-letters lists it (types only, so the console's page can share them). */
export interface DeadLetter {
  id: number;
  eventId: string;
  source: string;
  type: string;
  /** knativeerrordest: where delivery failed. */
  errorDest: string | null;
  /** knativeerrorcode: the last status. */
  errorCode: number | null;
  /** knativeerrordata, decoded. */
  errorData: string | null;
  receivedAt: string;
  replayedAt: string | null;
  event: Record<string, unknown>;
}
