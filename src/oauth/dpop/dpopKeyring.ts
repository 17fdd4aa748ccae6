import { McpOAuthError } from '../errors';
import type { Logger } from '../http/logger';
import { isDpopBound, type TokenSet } from '../tokens/tokenSet';
import { generateDpopKey, type DpopAlg, type DpopKeyStore } from './dpopKeys';
import { DpopProver } from './dpopProver';

/**
 * The DPoP keys of one server entry, one per issuer, in the host's key store; each loaded once into a prover,
 * which is kept so that the nonces it holds last as long as the session and no request reads the store again.
 * Only a sign-in generates a key.
 */
export class DpopKeyring {
  private readonly provers = new Map<string, Promise<DpopProver>>();

  /**
   * @param entry the session's key in the stores (ServerAuth's `tokenKey`)
   * @param where the log prefix naming the entry's server
   */
  constructor(
    private readonly store: DpopKeyStore | undefined,
    private readonly entry: string,
    private readonly now: () => number,
    private readonly logger: Logger,
    private readonly where: string,
  ) {}

  /** Whether the host keeps DPoP keys at all; without a store no session uses DPoP. */
  get canKeepKeys(): boolean {
    return this.store !== undefined;
  }

  /**
   * The prover of a token set bound to a key (RFC 9449), for the requests that present it; `undefined` for
   * Bearer tokens. When the key the tokens are bound to is gone, only a sign-in helps (`not_signed_in`).
   */
  async forSession(tokens: TokenSet): Promise<DpopProver | undefined> {
    if (!isDpopBound(tokens)) return undefined;
    const prover = await this.stored(tokens.issuer, tokens.dpopJkt).catch(() => undefined);
    if (!prover || prover.jkt !== tokens.dpopJkt) {
      throw new McpOAuthError(
        'not_signed_in',
        "The DPoP key this session's tokens are bound to is no longer stored (Reset Client Registration replaces it); sign in again",
      );
    }
    return prover;
  }

  /**
   * The prover a sign-in at `issuer` binds its tokens to: the stored key when its algorithm is one of `algs`
   * (in order of preference), else a new key for the first of them, stored before any request uses it.
   */
  async forSignIn(issuer: string, algs: readonly DpopAlg[]): Promise<DpopProver> {
    const store = this.requireStore();
    const stored = await store.get(this.entry, issuer).catch(() => undefined);
    if (stored && algs.includes(stored.alg)) {
      const prover = await this.stored(issuer, stored.jkt).catch(() => undefined);
      if (prover) {
        this.logger.info(`${this.where} signing in with DPoP (${prover.alg}, the stored key)`);
        return prover;
      }
    }
    const alg = algs[0]!;
    this.provers.delete(issuer);
    await store.set(this.entry, issuer, await generateDpopKey(alg, this.now()));
    this.logger.info(`${this.where} signing in with DPoP (${alg}, a new key)`);
    return this.stored(issuer);
  }

  /** Deletes the keys at `issuers` and at every issuer whose key this keyring loaded. No request is made. */
  async delete(issuers: readonly string[], { loadedToo = false } = {}): Promise<void> {
    if (!this.store) return;
    const all = new Set([...issuers, ...(loadedToo ? this.provers.keys() : [])]);
    for (const issuer of all) {
      this.provers.delete(issuer);
      await this.store.delete(this.entry, issuer);
      this.logger.info(`${this.where} the DPoP key for ${issuer} was deleted; the next sign-in makes a new one`);
    }
  }

  /**
   * The prover of the stored key for `issuer`, loaded once; rejects when there is none. One loaded before
   * another window (or process) replaced the key is loaded again when `jkt` names the other key.
   */
  private async stored(issuer: string, jkt?: string): Promise<DpopProver> {
    const cached = this.provers.get(issuer);
    if (cached) {
      const loaded = await cached.catch(() => undefined);
      if (loaded && (jkt === undefined || loaded.jkt === jkt)) return loaded;
      if (this.provers.get(issuer) === cached) this.provers.delete(issuer);
    }
    let prover = this.provers.get(issuer);
    if (!prover) {
      prover = (async () => {
        const key = await this.store?.get(this.entry, issuer);
        if (!key) throw new McpOAuthError('not_signed_in', 'No DPoP key is stored for this session');
        return DpopProver.load(key, this.now);
      })();
      this.provers.set(issuer, prover);
      prover.catch(() => {
        if (this.provers.get(issuer) === prover) this.provers.delete(issuer);
      });
    }
    return prover;
  }

  private requireStore(): DpopKeyStore {
    if (!this.store) throw new McpOAuthError('dpop_unsupported', 'This host keeps no DPoP keys');
    return this.store;
  }
}
