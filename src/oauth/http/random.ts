import { webcrypto } from 'node:crypto';

/** Injected randomness, so tests can be deterministic. */
export type RandomBytes = (length: number) => Uint8Array;

export const cryptoRandom: RandomBytes = (length) => webcrypto.getRandomValues(new Uint8Array(length));

export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** A high-entropy URL-safe string (32 random bytes → 43 characters, as PKCE and `state` want). */
export function randomToken(random: RandomBytes): string {
  return base64url(random(32));
}
