import * as oauth from 'oauth4webapi';
import { McpOAuthError } from '../errors';
import { oauthClient, type GrantContext } from './grantContext';
import { oauthStep, requestOptions } from './oauthStep';
import type { TokenSet } from '../tokens/tokenSet';

export type RevocationOutcome = 'revoked' | 'not_supported' | 'failed' | 'none';

export interface RevocationResult {
  readonly refreshToken: RevocationOutcome;
  readonly accessToken: RevocationOutcome;
  /** Why a revocation failed or could not be attempted, for the user. */
  readonly reason?: string;
}

/**
 * RFC 7009: revokes the refresh token (which ends the grant at most servers), then the access token.
 * Never throws: sign-out deletes locally whatever happens here, and reports the outcome.
 */
export async function revokeTokens(ctx: GrantContext, tokens: TokenSet): Promise<RevocationResult> {
  if (!ctx.as.revocation_endpoint) {
    return {
      refreshToken: 'not_supported',
      accessToken: 'not_supported',
      reason: 'the authorization server offers no revocation endpoint',
    };
  }
  const revoke = (token: string, hint: TokenTypeHint) => revokeToken(ctx, token, hint);
  const refresh = tokens.refreshToken
    ? await revoke(tokens.refreshToken, 'refresh_token')
    : { outcome: 'none' as const };
  const access = await revoke(tokens.accessToken, 'access_token');
  const reason =
    refresh.outcome === 'failed' ? refresh.reason : access.outcome === 'failed' ? access.reason : undefined;
  return { refreshToken: refresh.outcome, accessToken: access.outcome, ...(reason ? { reason } : {}) };
}

type TokenTypeHint = 'refresh_token' | 'access_token';

/** RFC 7009: revokes one token. Never throws; an AS without a revocation endpoint gives `not_supported`. */
export async function revokeToken(
  ctx: GrantContext,
  token: string,
  hint: TokenTypeHint,
): Promise<{ outcome: RevocationOutcome; reason?: string }> {
  if (!ctx.as.revocation_endpoint) return { outcome: 'not_supported' };
  const { client, auth } = oauthClient(ctx);
  try {
    const response = await oauthStep('The revocation request', 'token_error', () =>
      oauth.revocationRequest(
        ctx.as,
        client,
        auth,
        token,
        requestOptions(ctx.fetch, { additionalParameters: { token_type_hint: hint } }),
      ),
    );
    await oauthStep('The revocation request', 'token_error', () => oauth.processRevocationResponse(response));
    return { outcome: 'revoked' };
  } catch (error) {
    const reason = error instanceof McpOAuthError ? error.message : 'the revocation request failed';
    const unsupported = (error as { error?: string }).error === 'unsupported_token_type';
    return { outcome: unsupported ? 'not_supported' : 'failed', reason };
  }
}
