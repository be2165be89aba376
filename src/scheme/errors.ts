/** Why an outbound request got no response. Callers branch on `code`, operators read `message`. */
export type RequestFailure =
  | 'timeout' // no response within the request's timeout
  | 'closed' // the connection closed while the request was in flight, or before it was sent
  | 'busy' // the connection's cap on requests in flight is reached (back-pressure)
  | 'duplicate-stan' // field 11 is already in flight on this connection
  | 'no-connection' // no connection is ready to carry it
  | 'suspended'; // R10: the scheme said 971 SUSPENDED and has not said ACTIVE since

export class RequestError extends Error {
  constructor(
    readonly code: RequestFailure,
    message: string,
    /** The connection (session) the request was on, when it got that far. */
    readonly connection?: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}
