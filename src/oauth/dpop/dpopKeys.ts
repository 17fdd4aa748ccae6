import * as oauth from 'oauth4webapi';
import { calculateJwkThumbprint, exportJWK, importJWK, type JWK } from 'jose';
import { McpOAuthError } from '../errors';

/**
 * The DPoP proof algorithms this client can sign with (RFC 9449 §4.2: asymmetric only), in the order it
 * prefers them: ES256 first, as the MCP DPoP extension asks. Names are matched exactly against what the
 * server and its authorization server list; `EdDSA` and `Ed25519` are the two names of the same key type.
 */
export const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256'] as const;
export type DpopAlg = (typeof DPOP_ALGS)[number];

/**
 * A DPoP key pair as it is kept, where the host keeps secrets (VS Code's SecretStorage, the CLI's 0600
 * `dpop-keys.json`): the private key as a JWK, public members included. It is a secret like a refresh token,
 * and more: it is never logged, never shown, never put in a token bundle. In memory it lives only as a
 * non-extractable CryptoKey ({@link loadDpopKeyPair}).
 */
export interface StoredDpopKey {
  readonly version: 1;
  readonly alg: DpopAlg;
  readonly privateJwk: JWK;
  /** The RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of every token bound to it. Not secret. */
  readonly jkt: string;
  readonly createdAt: number;
}

/**
 * Where a host keeps DPoP keys: one per (server entry, issuer), so that two entries for the same server (two
 * accounts) and two authorization servers never share one. `entry` is the session's key (ServerAuth's
 * `tokenKey`: the settings id in VS Code, the canonical server URL in the CLI).
 */
export interface DpopKeyStore {
  get(entry: string, issuer: string): Promise<StoredDpopKey | undefined>;
  set(entry: string, issuer: string, key: StoredDpopKey): Promise<void>;
  delete(entry: string, issuer: string): Promise<void>;
}

/** A store in memory, for tests and hosts whose sessions end with the process. */
export class MemoryDpopKeyStore implements DpopKeyStore {
  private readonly keys = new Map<string, StoredDpopKey>();
  async get(entry: string, issuer: string): Promise<StoredDpopKey | undefined> {
    return this.keys.get(JSON.stringify([entry, issuer]));
  }
  async set(entry: string, issuer: string, key: StoredDpopKey): Promise<void> {
    this.keys.set(JSON.stringify([entry, issuer]), key);
  }
  async delete(entry: string, issuer: string): Promise<void> {
    this.keys.delete(JSON.stringify([entry, issuer]));
  }
  get size(): number {
    return this.keys.size;
  }
}

/** Generates a key pair for `alg` with WebCrypto (oauth4webapi's generateKeyPair), in its stored form. */
export async function generateDpopKey(alg: DpopAlg, now: number): Promise<StoredDpopKey> {
  const pair = await oauth.generateKeyPair(alg, { extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const jkt = await calculateJwkThumbprint(publicJwk(privateJwk), 'sha256');
  return { version: 1, alg, privateJwk, jkt, createdAt: now };
}

/** JWK members only a private key has (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function publicJwk(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  delete copy.key_ops;
  delete copy.ext;
  return copy as JWK;
}

/**
 * The key pair to sign with: the private key imported non-extractable (nothing in this process can export it
 * again), the public key extractable (its JWK goes in every proof's header). Refuses a stored key whose public
 * half is not the thumbprint it was stored with.
 */
export async function loadDpopKeyPair(key: StoredDpopKey): Promise<CryptoKeyPair> {
  const damaged = () =>
    new McpOAuthError('storage_error', 'The stored DPoP key is damaged; sign in again to replace it', {});
  try {
    const pub = publicJwk(key.privateJwk);
    if ((await calculateJwkThumbprint(pub, 'sha256')) !== key.jkt) throw damaged();
    const privateKey = await importJWK({ ...key.privateJwk, ext: false, key_ops: ['sign'] }, key.alg, {
      extractable: false,
    });
    const publicKey = await importJWK({ ...pub, key_ops: ['verify'] }, key.alg, { extractable: true });
    if (privateKey instanceof Uint8Array || publicKey instanceof Uint8Array) throw damaged();
    return { privateKey, publicKey };
  } catch (error) {
    // jose's messages may describe the key material: never kept as the cause.
    if (error instanceof McpOAuthError) throw error;
    throw damaged();
  }
}

/** Whether a value read back from storage has the shape of a {@link StoredDpopKey}. */
export function isStoredDpopKey(value: unknown): value is StoredDpopKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.version === 1 &&
    typeof v.alg === 'string' &&
    (DPOP_ALGS as readonly string[]).includes(v.alg) &&
    typeof v.privateJwk === 'object' &&
    v.privateJwk !== null &&
    typeof (v.privateJwk as Record<string, unknown>).kty === 'string' &&
    typeof (v.privateJwk as Record<string, unknown>).d === 'string' &&
    typeof v.jkt === 'string' &&
    v.jkt !== '' &&
    typeof v.createdAt === 'number' &&
    Number.isFinite(v.createdAt)
  );
}
