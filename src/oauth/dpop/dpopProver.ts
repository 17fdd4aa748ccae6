import * as oauth from 'oauth4webapi';
import { McpOAuthError } from '../errors';
import { loadDpopKeyPair, type DpopAlg, type StoredDpopKey } from './dpopKeys';

/**
 * What oauth4webapi's DPoP handle does besides what its type declares: it makes the proofs and keeps the
 * nonces of every request it takes part in. The resource requests (the MCP server, through authorizedFetch and
 * the token gateway) are not oauth4webapi's, so they use these two directly; {@link DpopProver.load} checks
 * that they are there.
 */
interface ProofHandle extends oauth.DPoPHandle {
  addProof(url: URL, headers: Headers, htm: string, accessToken?: string): Promise<void>;
  cacheNonce(response: { readonly headers: { get(name: string): string | null } }, url: URL): void;
}

/**
 * The proofs of one DPoP key (RFC 9449), for one session: a fresh proof for every request (`jti`, `htm`,
 * `htu` without query or fragment, `iat` from the injected clock, `ath` when a token is presented) and the
 * latest nonce each origin gave (§8, §9), for the token endpoint and the resource server alike. Built on
 * oauth4webapi's DPoP handle, which token requests take as it is ({@link handle}). Holds the key only as a
 * non-extractable CryptoKey; nothing here can print or export it.
 */
export class DpopProver {
  private constructor(
    readonly alg: DpopAlg,
    /** The key's RFC 7638 thumbprint: the `cnf.jkt` of the tokens bound to it. */
    readonly jkt: string,
    /** For oauth4webapi's token requests (`{ DPoP: handle }`). */
    readonly handle: oauth.DPoPHandle,
  ) {}

  static async load(key: StoredDpopKey, now: () => number): Promise<DpopProver> {
    const pair = await loadDpopKeyPair(key);
    const handle = oauth.DPoP({}, pair, {
      [oauth.modifyAssertion]: (header, payload) => {
        payload.iat = Math.floor(now() / 1000);
        // oauth4webapi names an Ed25519 key's algorithm "Ed25519"; some servers know only "EdDSA".
        if (key.alg === 'EdDSA') header.alg = 'EdDSA';
      },
    }) as ProofHandle;
    if (typeof handle.addProof !== 'function' || typeof handle.cacheNonce !== 'function') {
      throw new McpOAuthError(
        'invalid_config',
        'This build of oauth4webapi cannot make DPoP proofs for resource requests',
      );
    }
    return new DpopProver(key.alg, key.jkt, handle);
  }

  /** A fresh proof for `htm url`, bound to `accessToken` when one is presented with it (`ath`). */
  async proof(htm: string, url: URL | string, accessToken?: string): Promise<string> {
    const headers = new Headers();
    await (this.handle as ProofHandle).addProof(
      typeof url === 'string' ? new URL(url) : url,
      headers,
      htm.toUpperCase(),
      accessToken,
    );
    return headers.get('dpop')!;
  }

  /** Keeps the nonce a server at `url`'s origin gave in `DPoP-Nonce`, for the next proofs there. */
  keepNonce(url: URL | string, nonce: string | null | undefined): void {
    if (!nonce || !isNonce(nonce)) return;
    (this.handle as ProofHandle).cacheNonce(
      { headers: { get: (name) => (name.toLowerCase() === 'dpop-nonce' ? nonce : null) } },
      typeof url === 'string' ? new URL(url) : url,
    );
  }
}

/** RFC 9449 §8.1: `nonce = 1*NQCHAR`; a server's answer is attacker-controlled, so anything else is ignored. */
function isNonce(value: string): boolean {
  return value.length <= 1024 && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(value);
}
