// The DPoP prover on its own (RFC 9449 §4): what each proof claims, the nonce per origin, the proofs signed
// ahead of their requests (each used once, never stale, never with an old nonce), and the key that stays inside.
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { generateDpopKey, isStoredDpopKey, loadDpopKeyPair } from '../../src/oauth/dpop/dpopKeys';
import { DpopProver } from '../../src/oauth/dpop/dpopProver';
import { accessTokenHash } from '../fixtures/dpopProofs';

const URL_ = 'https://mcp.example.com/mcp';

describe('DpopProver', () => {
  let clock = Date.now();
  const now = () => clock;
  const verified = async (proof: string) => (await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' })).payload;

  it('makes a fresh, verifiable proof per request: htm, htu without query or fragment, iat from the clock, ath', async () => {
    const key = await generateDpopKey('ES256', clock);
    const prover = await DpopProver.load(key, now);
    clock = Date.UTC(2030, 0, 1);
    const a = await verified(await prover.proof('post', `${URL_}?session=1#frag`, 'token-1'));
    const b = await verified(await prover.proof('post', `${URL_}?session=1#frag`, 'token-1'));
    assert.notEqual(a.jti, b.jti, 'a new jti every time');
    for (const claims of [a, b]) {
      assert.equal(claims.htm, 'POST');
      assert.equal(claims.htu, URL_);
      assert.equal(claims.ath, accessTokenHash('token-1'));
      assert.ok(Math.abs(claims.iat! - clock / 1000) <= 1, `iat ${claims.iat} from the injected clock`);
    }
    assert.equal((await verified(await prover.proof('POST', URL_))).ath, undefined, 'no ath without a token');
    const header = decodeProtectedHeader(await prover.proof('GET', URL_, 't'));
    assert.equal(header.alg, 'ES256');
    assert.equal((header.jwk as Record<string, unknown>).d, undefined, 'only the public key in the header');
  });

  it('never hands out a proof signed ahead that is stale or carries an old nonce', async () => {
    clock = Date.now();
    const prover = await DpopProver.load(await generateDpopKey('ES256', clock), now);
    await prover.proof('POST', URL_, 't'); // signs the next one ahead
    clock += 6_000;
    const late = decodeJwt(await prover.proof('POST', URL_, 't'));
    assert.equal(late.iat, Math.floor(clock / 1000), 'the one signed 6 s ago was not used');

    const ahead = decodeJwt(await prover.proof('POST', URL_, 't'));
    assert.equal(ahead.nonce, undefined);
    prover.keepNonce(URL_, 'nonce-1');
    const nonced = decodeJwt(await prover.proof('POST', URL_, 't'));
    assert.equal(nonced.nonce, 'nonce-1', 'the proof signed ahead without the nonce was dropped');
    prover.keepNonce(`${new URL(URL_).origin}/other`, 'nonce-1'); // the same nonce again: nothing changes
    assert.equal(decodeJwt(await prover.proof('POST', URL_, 't')).nonce, 'nonce-1');
    prover.keepNonce(URL_, 'nonce-2');
    assert.equal(decodeJwt(await prover.proof('POST', URL_, 't')).nonce, 'nonce-2');
    assert.equal(
      decodeJwt(await prover.proof('POST', 'https://other.example/mcp', 't')).nonce,
      undefined,
      'per origin',
    );
  });

  it('hands out each proof once, however many requests ask at the same time', async () => {
    clock = Date.now();
    const prover = await DpopProver.load(await generateDpopKey('ES256', clock), now);
    const proofs = await Promise.all(Array.from({ length: 20 }, () => prover.proof('POST', URL_, 't')));
    assert.equal(new Set(proofs.map((p) => decodeJwt(p).jti)).size, 20);
    const sequential: string[] = [];
    for (let i = 0; i < 20; i++) sequential.push(await prover.proof('POST', URL_, 't'));
    assert.equal(new Set([...proofs, ...sequential].map((p) => decodeJwt(p).jti)).size, 40);
  });

  it('ignores a nonce that is not one (RFC 9449 §8.1: NQCHAR only, bounded)', async () => {
    const prover = await DpopProver.load(await generateDpopKey('ES256', clock), now);
    for (const bad of ['with space', 'quote"', 'back\\slash', 'x'.repeat(2000), '']) prover.keepNonce(URL_, bad);
    assert.equal(decodeJwt(await prover.proof('POST', URL_, 't')).nonce, undefined);
  });

  it('names an EdDSA key’s algorithm EdDSA, and an Ed25519 one Ed25519', async () => {
    for (const alg of ['EdDSA', 'Ed25519'] as const) {
      const prover = await DpopProver.load(await generateDpopKey(alg, clock), now);
      const proof = await prover.proof('POST', URL_, 't');
      assert.equal(decodeProtectedHeader(proof).alg, alg);
      await verified(proof);
    }
  });

  it('holds the private key non-extractable, and refuses a stored key whose thumbprint is not its own', async () => {
    const key = await generateDpopKey('ES256', clock);
    assert.ok(isStoredDpopKey(key), 'the stored form is recognised');
    const pair = await loadDpopKeyPair(key);
    assert.equal(pair.privateKey.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('jwk', pair.privateKey), 'the private key cannot be exported');
    const other = await generateDpopKey('ES256', clock);
    await assert.rejects(loadDpopKeyPair({ ...key, jkt: other.jkt }), (e: unknown) => {
      assert.match(String((e as Error).message), /stored DPoP key is damaged/);
      assert.ok(!String((e as Error).message).includes(String(key.privateJwk.d)), 'no key material in the message');
      return true;
    });
  });
});
