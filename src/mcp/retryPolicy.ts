import type { BearerChallenge } from '../oauth/discovery/challenge';

/**
 * What may be tried again for one request to a protected MCP server: the same limits everywhere. `nonce` is
 * the one retry with the nonce a DPoP server asked for (RFC 9449 §9).
 */
export const RETRY_LIMITS = { refresh: 1, signIn: 1, stepUp: 2, nonce: 1 } as const;

export type Retry = keyof typeof RETRY_LIMITS;

/**
 * The one retry policy for a 401 or 403 from a protected MCP server, used by the CLI's and the extension's
 * own MCP connections (authorizedFetch) and by the token gateway: a 401 renews the token once, then (where
 * the caller may) signs in once; a 403 `insufficient_scope` re-authorizes for the wider scope a bounded
 * number of times. Challenges of the DPoP scheme count the same (RFC 9449 §7.1), and a 401 `use_dpop_nonce`
 * to a request that carried a proof is retried once with the server's new nonce before anything else.
 * Anything else is handed back to the caller to report.
 */
export class RetryPolicy {
  private readonly used: Record<Retry, number> = { refresh: 0, signIn: 0, stepUp: 0, nonce: 0 };

  /** `signIn` and `stepUp`: whether the caller can run an interactive sign-in (the gateway's hot path cannot sign in). */
  constructor(private readonly can: { readonly signIn: boolean; readonly stepUp: boolean }) {}

  /**
   * The retry to attempt after `status`, or `undefined` to stop. `hasToken`: the request carried one.
   * `newNonce`: it carried a DPoP proof and the answer brought a nonce (`DPoP-Nonce`) to retry with.
   */
  next(status: number, challenge: BearerChallenge | undefined, hasToken: boolean, newNonce = false): Retry | undefined {
    if (status === 401) {
      if (hasToken && newNonce && challenge?.error === 'use_dpop_nonce' && this.take('nonce')) return 'nonce';
      if (hasToken && this.take('refresh')) return 'refresh';
      return this.can.signIn && this.take('signIn') ? 'signIn' : undefined;
    }
    if (status === 403 && challenge?.error === 'insufficient_scope' && this.can.stepUp && this.take('stepUp')) {
      return 'stepUp';
    }
    return undefined;
  }

  /** Whether `retry` has been used up (for the message the caller gives when it stops). */
  exhausted(retry: Retry): boolean {
    return this.used[retry] >= RETRY_LIMITS[retry];
  }

  private take(retry: Retry): boolean {
    if (this.exhausted(retry)) return false;
    this.used[retry]++;
    return true;
  }
}
