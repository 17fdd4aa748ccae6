import { deleteRegistration, type ClientRegistration } from '../client/registration';
import type { GrantContext } from '../grants/grantContext';
import { revokeToken, revokeTokens, type RevocationResult } from '../grants/revocation';
import type { FetchLike } from '../http/policyFetch';
import { describeUrl } from '../http/url';
import { sameClient, sessionBinding, type TokenSet } from '../tokens/tokenSet';
import type { AuthEnvironment } from './environment';

/** What replacing one entry's session needs of its ServerAuth. */
export interface ReplacementContext {
  readonly env: AuthEnvironment;
  /** The session's key in the stores. */
  readonly tokenKey: string;
  /** The canonical server URL the entry's sessions are bound to. */
  readonly serverUrl: string;
  /** The server's HTTP policy. */
  fetch(): FetchLike;
  /** What a request about a stored session needs: its AS and client as recorded, never discovery. */
  sessionGrantContext(tokens: TokenSet): Promise<GrantContext>;
}

/** At most this many refresh tokens of replaced sign-ins wait for sign-out; older ones are revoked at once. */
const MAX_SUPERSEDED = 8;

/**
 * Replacing a session leaves nothing alive (security property 14): a new sign-in, a step-up or an import
 * revokes the session of another client at once; refresh tokens of the same client are revoked at sign-out
 * (see `TokenSet.supersededRefreshTokens`); a dynamic registration nothing uses any more is deleted (RFC 7592).
 */
export class SessionReplacement {
  constructor(private readonly ctx: ReplacementContext) {}

  /** Stores `next` in place of the entry's session, and ends what it replaces. */
  async keep(next: TokenSet): Promise<TokenSet> {
    const { env, tokenKey, serverUrl } = this.ctx;
    const previous = await env.tokens.get(tokenKey).catch(() => undefined);
    const bound = previous && sessionBinding(previous, serverUrl) === 'bound' ? previous : undefined;
    const successor = bound && sameClient(bound, next);
    const { kept, overflow } = successor ? withSuperseded(next, bound) : { kept: next, overflow: [] };
    await env.tokens.set(tokenKey, kept);
    if (previous && !successor) {
      await this.retire(previous);
      await this.deleteRetiring(previous);
    }
    if (overflow.length) {
      const ctx = await this.ctx.sessionGrantContext(kept);
      await this.revokeSuperseded(ctx, { ...kept, supersededRefreshTokens: overflow });
    }
    return kept;
  }

  /** Sign-out: revokes the session's tokens and those it superseded, deletes it, then its retiring registration. */
  async signOut(tokens: TokenSet): Promise<RevocationResult> {
    const ctx = await this.ctx.sessionGrantContext(tokens);
    const result = await revokeTokens(ctx, tokens);
    await this.revokeSuperseded(ctx, tokens);
    await this.ctx.env.tokens.delete(this.ctx.tokenKey);
    await this.deleteRetiring(tokens);
    return result;
  }

  /**
   * RFC 7592: deletes a registration the client store no longer keeps, unless a stored session still uses it;
   * one that this entry's own session uses is kept with that session, to delete once a sign-in replaces it or
   * at its sign-out (`TokenSet.retiringRegistration`).
   */
  async registrationReplaced(registration: ClientRegistration): Promise<void> {
    const { env, tokenKey } = this.ctx;
    const { management } = registration;
    if (registration.method !== 'dcr' || !management || !env.clientInUse) return;
    if (await env.clientInUse(registration.issuer, registration.clientId)) {
      const current = await env.tokens.get(tokenKey).catch(() => undefined);
      if (current?.clientId === registration.clientId && current.issuer === registration.issuer) {
        const retiringRegistration = { clientId: registration.clientId, management };
        await env.tokens.set(tokenKey, { ...current, retiringRegistration });
      }
      return;
    }
    await this.deleteAt(registration.issuer, management);
  }

  /** Revokes every token of a replaced session of another client (or made for another server). */
  private async retire(previous: TokenSet): Promise<void> {
    const ctx = await this.ctx.sessionGrantContext(previous);
    const result = await revokeTokens(ctx, previous);
    await this.revokeSuperseded(ctx, previous);
    this.ctx.env.logger.info(
      `[signIn] [${describeUrl(this.ctx.serverUrl)}] the replaced session's refresh token ${result.refreshToken}, access token ${result.accessToken}`,
    );
  }

  private async revokeSuperseded(ctx: GrantContext, tokens: TokenSet): Promise<void> {
    const superseded = tokens.supersededRefreshTokens ?? [];
    const outcomes = await Promise.all(superseded.map((token) => revokeToken(ctx, token, 'refresh_token')));
    if (outcomes.length)
      this.ctx.env.logger.info(
        `[signOut] [${describeUrl(this.ctx.serverUrl)}] refresh tokens of replaced sign-ins: ${outcomes.map((o) => o.outcome).join(', ')}`,
      );
  }

  /** The registration a replaced or signed-out session kept to delete. */
  private async deleteRetiring(tokens: TokenSet): Promise<void> {
    const retiring = tokens.retiringRegistration;
    const { clientInUse } = this.ctx.env;
    if (!retiring || !clientInUse || (await clientInUse(tokens.issuer, retiring.clientId))) return;
    await this.deleteAt(tokens.issuer, retiring.management);
  }

  private async deleteAt(issuer: string, management: NonNullable<ClientRegistration['management']>): Promise<void> {
    const outcome = await deleteRegistration(this.ctx.fetch(), management);
    this.ctx.env.logger.info(`[registration] [${describeUrl(issuer)}] the replaced registration: ${outcome}`);
  }
}

/**
 * `next`, remembering the refresh tokens of `previous` (same client) to revoke at sign-out, and those that
 * no longer fit (`overflow`), to revoke now. A registration retiring under `previous` is the same client's: it
 * still serves `next`, which keeps it to delete.
 */
function withSuperseded(next: TokenSet, previous: TokenSet): { kept: TokenSet; overflow: string[] } {
  const older = [...(previous.supersededRefreshTokens ?? []), previous.refreshToken].filter(
    (token): token is string => !!token && token !== next.refreshToken,
  );
  const all = [...new Set(older)];
  const superseded = all.slice(-MAX_SUPERSEDED);
  const retiring = previous.retiringRegistration;
  return {
    kept: {
      ...next,
      ...(superseded.length ? { supersededRefreshTokens: superseded } : {}),
      ...(retiring && !next.retiringRegistration ? { retiringRegistration: retiring } : {}),
    },
    overflow: all.slice(0, all.length - superseded.length),
  };
}
