import assert from 'node:assert/strict';
import { CompactEncrypt, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { jwtExpiry } from '../../src/oauth/grants/tokenResponse';
import { claimsOf, headerOf } from '../../src/oauth/tokens/claims';

/** The one, unverified, token decoding (claims.ts, on jose): what display and expiry hints read. */
describe('token decoding (unverified, on jose)', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('reads the claims and the header of a signed JWT, without verifying it', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const jwt = await new SignJWT({ sub: 'alice', exp: 2_000_000_000 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);
    assert.deepEqual(claimsOf(jwt), { sub: 'alice', exp: 2_000_000_000 });
    assert.deepEqual(headerOf(jwt), { alg: 'ES256', kid: 'k1' });
    const forged = `${jwt.split('.').slice(0, 2).join('.')}.AAAA`;
    assert.deepEqual(claimsOf(forged), { sub: 'alice', exp: 2_000_000_000 }, 'a bad signature is not checked here');
    assert.equal(jwtExpiry(jwt), 2_000_000_000_000);
  });

  it('reads only the header of a JWE, and nothing of an opaque or malformed token', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const jwe = await new CompactEncrypt(Buffer.from('{"sub":"x"}'))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
      .encrypt(publicKey);
    assert.deepEqual(headerOf(jwe), { alg: 'RSA-OAEP-256', enc: 'A256GCM' });
    assert.equal(claimsOf(jwe), undefined);
    for (const token of [
      'opaque-token',
      'a.b',
      `${b64({ alg: 'none' })}.${b64([1])}.`,
      `x.${b64(null)}.y`,
      'a.b.c.d',
    ]) {
      assert.equal(claimsOf(token), undefined, token);
      assert.equal(jwtExpiry(token), undefined, token);
    }
    assert.equal(headerOf('opaque-token'), undefined);
    assert.equal(headerOf(`${b64('text')}.e30.`), undefined, 'a header that is not an object');
  });

  it('an expiry that is not a number is no expiry; an unsecured JWT still decodes', () => {
    assert.equal(jwtExpiry(`${b64({ alg: 'none' })}.${b64({ exp: '2030' })}.`), undefined);
    assert.deepEqual(claimsOf(new UnsecuredJWT({ sub: 's' }).encode()), { sub: 's' });
  });

  it('does not decode a token of more than 256 KB', () => {
    const big = new UnsecuredJWT({ pad: 'x'.repeat(300 * 1024) }).encode();
    assert.equal(claimsOf(big), undefined);
    assert.equal(headerOf(big), undefined);
  });
});
