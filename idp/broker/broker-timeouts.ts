/**
 * How long an OP waits on a neighbour OP of the federation, in one place. A neighbour that does
 * not answer within these bounds is treated as unavailable: the person is told at once that their
 * home cannot be reached (docs/recognition.md), and other logins are not held up.
 */
export const BROKER_TIMEOUTS = {
  /**
   * One protocol call of a cross-tier hop (pushed request, token request, JWKS) through
   * openid-client: more than a statement fetch (FEDERATION_DEFAULTS.fetchTimeoutMs), as the
   * neighbour may itself be waiting on its registry or its keys.
   */
  hopSeconds: 5,
  /** Fetching a neighbour's ID-token keys to verify a logout token it sent. */
  neighbourJwksMs: 5000,
  /** Passing a logout up to the neighbour a recognized account came through (off the person's path: it is logged when it fails). */
  upstreamLogoutMs: 5000,
  /** Handing an account over to its new home (relocation): the move is undone when it times out. */
  relocationMs: 5000,
} as const;
