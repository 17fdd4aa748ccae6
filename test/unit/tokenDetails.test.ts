// "Show Token Details" as data (src/vscode/model/tokenDetailsModel.ts): what the read-only document shows of a
// session. Decoded for display only; never a raw token, a signature, a refresh token or a key.
import assert from 'node:assert/strict';
import { CompactEncrypt, generateKeyPair, SignJWT } from 'jose';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { parseServers } from '../../src/vscode/model/serverConfig';
import { sessionInfo } from '../../src/vscode/model/sessionInfo';
import { describeToken, tokenDetails } from '../../src/vscode/model/tokenDetailsModel';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const entry = parseServers([{ name: 'Team', id: 'team', url: 'https://mcp.example.test/mcp' }]).servers[0]!;

async function jwt(claims: Record<string, unknown>, typ = 'at+jwt'): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ, kid: 'k1' }).sign(privateKey);
}

function tokens(accessToken: string, overrides: Partial<TokenSet> = {}): TokenSet {
  return {
    accessToken,
    refreshToken: 'rt-secret-0123456789',
    tokenType: 'Bearer',
    issuer: 'https://as.example.test',
    clientId: 'client-1',
    tokenEndpoint: 'https://as.example.test/token',
    scopes: ['mcp:read'],
    resource: entry.url,
    obtainedAt: NOW - 60_000,
    expiresAt: NOW + 5 * 60_000,
    serverUrl: entry.url,
    registration: 'dcr',
    ...overrides,
  };
}

describe('Show Token Details (the model)', () => {
  it('shows the decoded header and claims of a JWT access token, with readable times, and never the token or its signature', async () => {
    const iat = Math.floor(NOW / 1000) - 60;
    const access = await jwt({ sub: 'alice', aud: entry.url, scope: 'mcp:read', iat, exp: iat + 360 });
    const set = tokens(access);
    const details = tokenDetails(entry, sessionInfo(entry, set), set, NOW);
    const text = JSON.stringify(details);
    assert.equal(details.issuer, 'https://as.example.test');
    assert.equal(details.expiresIn, '5 min');
    assert.equal(details.hasRefreshToken, true);
    const shown = details.accessToken as { format: string; header: { typ: string }; claims: { sub: string } };
    assert.equal(shown.format, 'JWT');
    assert.equal(shown.header.typ, 'at+jwt');
    assert.equal(shown.claims.sub, 'alice');
    assert.deepEqual((shown as unknown as { times: Record<string, string> }).times, {
      iat: new Date(iat * 1000).toISOString(),
      exp: new Date((iat + 360) * 1000).toISOString(),
    });
    for (const secret of [access, access.split('.')[2]!, set.refreshToken!]) {
      assert.ok(!text.includes(secret), 'a raw token, a signature or the refresh token is shown');
    }
    assert.equal('dpop' in details, false, 'a Bearer session has no DPoP section');
  });

  it('names the DPoP key a bound session is tied to by its thumbprint (no key material)', async () => {
    const jkt = 'kV0cNKBNdGi1n4-A5Ot0zHzAhmfbNP1d9jrgbq4UVyA';
    const set = tokens(await jwt({ sub: 'alice', cnf: { jkt } }), { tokenType: 'DPoP', dpopJkt: jkt });
    const details = tokenDetails(entry, undefined, set, NOW);
    assert.equal(details.tokenType, 'DPoP');
    assert.equal((details.dpop as { keyThumbprint: string }).keyThumbprint, jkt);
    assert.match((details.dpop as { $comment: string }).$comment, /never shown/);
  });

  it('says what it cannot read: a JWE shows only its header, an opaque token only its kind', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const jwe = await new CompactEncrypt(new TextEncoder().encode('{"sub":"alice"}'))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
      .encrypt(publicKey);
    assert.deepEqual(describeToken(jwe), {
      format: 'JWE (encrypted; only the server can read the claims)',
      header: { alg: 'RSA-OAEP-256', enc: 'A256GCM' },
    });
    assert.deepEqual(describeToken('opaque-0123456789'), {
      format: 'opaque (not a JWT; only the authorization server can read it)',
    });
  });
});
