import { createPrivateKey } from 'node:crypto';
import { importPKCS8 } from 'jose';
import type * as oauth from 'oauth4webapi';
import { McpOAuthError } from '../errors';

/**
 * Loads a PKCS#8 PEM private key for `private_key_jwt`: RS256 for RSA keys, ES256 for P-256 keys (or the
 * algorithm given). The key text itself is never put in an error message.
 */
export async function loadPrivateKey(pem: string, alg?: string, kid?: string): Promise<oauth.PrivateKey> {
  let algorithm = alg;
  try {
    if (!algorithm) {
      const type = createPrivateKey(pem).asymmetricKeyType;
      algorithm = type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : undefined;
    }
    if (!algorithm) throw new Error('unsupported key type');
    const key = await importPKCS8(pem, algorithm);
    return { key, ...(kid ? { kid } : {}) };
  } catch (error) {
    throw new McpOAuthError(
      'invalid_config',
      'The private key for private_key_jwt could not be read: it must be a PKCS#8 PEM RSA or P-256 key',
      { cause: error },
    );
  }
}
