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

/** How long a proof signed ahead of its request may wait for it (its `iat` is when it was signed). */
const SPARE_MAX_AGE_MS = 5_000;
/** Proofs signed ahead, at most: one per (method, URL, token) last asked for. */
const MAX_SPARES = 16;

/** A proof signed ahead for the next request like the last one, with what it was signed for. */
interface Spare {
  readonly proof: Promise<string | undefined>;
  readonly made: number;
  /** The version of its origin's nonce it carries (see {@link DpopProver.keepNonce}). */
  readonly nonce: number;
}

/**
 * The proofs of one DPoP key (RFC 9449), for one session: a fresh proof for every request (`jti`, `htm`,
 * `htu` without query or fragment, `iat` from the injected clock, `ath` when a token is presented) and the
 * latest nonce each origin gave (§8, §9), for the token endpoint and the resource server alike. Built on
 * oauth4webapi's DPoP handle, which token requests take as it is ({@link handle}). Holds the key only as a
 * non-extractable CryptoKey; nothing here can print or export it.
 */
export class DpopProver {
  private readonly spares = new Map<string, Spare>();
  /** Per origin: the nonce last kept and how often it changed, so that no proof signed ahead carries an old one. */
  private readonly nonces = new Map<string, { readonly value: string; readonly version: number }>();

  private constructor(
    readonly alg: DpopAlg,
    /** The key's RFC 7638 thumbprint: the `cnf.jkt` of the tokens bound to it. */
    readonly jkt: string,
    /** For oauth4webapi's token requests (`{ DPoP: handle }`). */
    readonly handle: oauth.DPoPHandle,
    private readonly now: () => number,
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
    return new DpopProver(key.alg, key.jkt, handle, now);
  }

  /**
   * A fresh proof for `htm url` (a new `jti` every time), bound to `accessToken` when one is presented with it
   * (`ath`). The signature is kept off the request's path: each call also signs, in the background, the proof
   * for the next request like this one (same method, URL and token), which that request then takes as long as
   * it is a few seconds old at most and carries the origin's current nonce. Each proof is handed out once.
   */
  async proof(htm: string, url: URL | string, accessToken?: string): Promise<string> {
    const target = typeof url === 'string' ? new URL(url) : url;
    const method = htm.toUpperCase();
    const key = `${method} ${target.origin}${target.pathname} ${accessToken ?? ''}`;
    const spare = this.spares.get(key);
    this.spares.delete(key);
    this.signAhead(key, method, target, accessToken);
    if (spare && this.now() - spare.made < SPARE_MAX_AGE_MS && spare.nonce === this.nonceVersion(target)) {
      const proof = await spare.proof;
      if (proof) return proof;
    }
    return this.sign(method, target, accessToken);
  }

  /** Keeps the nonce a server at `url`'s origin gave in `DPoP-Nonce`, for the next proofs there. */
  keepNonce(url: URL | string, nonce: string | null | undefined): void {
    if (!nonce || !isNonce(nonce)) return;
    const target = typeof url === 'string' ? new URL(url) : url;
    const kept = this.nonces.get(target.origin);
    if (kept?.value !== nonce) this.nonces.set(target.origin, { value: nonce, version: (kept?.version ?? 0) + 1 });
    (this.handle as ProofHandle).cacheNonce(
      { headers: { get: (name) => (name.toLowerCase() === 'dpop-nonce' ? nonce : null) } },
      target,
    );
  }

  private async sign(method: string, url: URL, accessToken: string | undefined): Promise<string> {
    const headers = new Headers();
    await (this.handle as ProofHandle).addProof(url, headers, method, accessToken);
    return headers.get('dpop')!;
  }

  private signAhead(key: string, method: string, url: URL, accessToken: string | undefined): void {
    if (this.spares.size >= MAX_SPARES) this.spares.delete(this.spares.keys().next().value!);
    const made = this.now();
    const nonce = this.nonceVersion(url);
    this.spares.set(key, { proof: this.sign(method, url, accessToken).catch(() => undefined), made, nonce });
  }

  private nonceVersion(url: URL): number {
    return this.nonces.get(url.origin)?.version ?? 0;
  }
}

/** RFC 9449 §8.1: `nonce = 1*NQCHAR`; a server's answer is attacker-controlled, so anything else is ignored. */
function isNonce(value: string): boolean {
  return value.length <= 1024 && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(value);
}
