import type * as vscode from 'vscode';
import type { ClientRegistration, ClientStore } from '../oauth/client/registration';
import { isStoredDpopKey, type DpopKeyStore, type StoredDpopKey } from '../oauth/dpop/dpopKeys';
import { McpOAuthError } from '../oauth/errors';
import { isTokenSet, type TokenSet } from '../oauth/tokens/tokenSet';
import type { TokenStore } from '../oauth/tokens/tokenStore';

/** SecretStorage keys. Everything secret lives under these, and nowhere else. */
export const SECRET_KEYS = {
  tokens: (serverId: string) => `mcpOAuth.tokens/${serverId}`,
  client: (issuer: string) => `mcpOAuth.client/${issuer}`,
  clientSecret: (serverId: string) => `mcpOAuth.clientSecret/${serverId}`,
  privateKey: (serverId: string) => `mcpOAuth.privateKey/${serverId}`,
  /** The client secret of the MCP client at the enterprise identity provider (`mcpOAuth.enterpriseIdp`). */
  identityProviderSecret: (issuer: string, clientId: string) => `mcpOAuth.idpClientSecret/${issuer} ${clientId}`,
  /** The DPoP key pair (RFC 9449) of one server entry at one authorization server. */
  dpopKey: (serverId: string, issuer: string) => `mcpOAuth.dpopKey/${encodeURIComponent(serverId)}/${issuer}`,
} as const;

/** The server id of a tokens key, for `secrets.onDidChange`. */
export function serverIdOfTokensKey(key: string): string | undefined {
  return key.startsWith('mcpOAuth.tokens/') ? key.slice('mcpOAuth.tokens/'.length) : undefined;
}

/**
 * Token sets in SecretStorage, keyed by server id. A damaged entry is a `storage_error` naming the server,
 * so it can be reported and reset without touching the others. SecretStorage is shared by the windows of
 * a profile; the token manager re-reads before every refresh, so a token another window rotated is used.
 */
export class SecretTokenStore implements TokenStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  async get(serverId: string): Promise<TokenSet | undefined> {
    let text: string | undefined;
    try {
      text = await this.secrets.get(SECRET_KEYS.tokens(serverId));
    } catch (error) {
      throw new McpOAuthError(
        'storage_error',
        `VS Code's secret storage could not be read for ${JSON.stringify(serverId)}; ${KEYRING_HINT}`,
        { cause: error },
      );
    }
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!isTokenSet(value)) {
      throw new McpOAuthError(
        'storage_error',
        `The stored session for ${JSON.stringify(serverId)} is damaged; sign out of it (or sign in again) to reset it`,
      );
    }
    return value;
  }

  async set(serverId: string, tokens: TokenSet): Promise<void> {
    try {
      await this.secrets.store(SECRET_KEYS.tokens(serverId), JSON.stringify(tokens));
    } catch (error) {
      throw new McpOAuthError(
        'storage_error',
        `The session for ${JSON.stringify(serverId)} could not be saved in VS Code's secret storage; ${KEYRING_HINT}`,
        { cause: error },
      );
    }
  }

  async delete(serverId: string): Promise<void> {
    try {
      await this.secrets.delete(SECRET_KEYS.tokens(serverId));
    } catch (error) {
      throw new McpOAuthError(
        'storage_error',
        `The session for ${JSON.stringify(serverId)} could not be removed from VS Code's secret storage; ${KEYRING_HINT}`,
        { cause: error },
      );
    }
  }
}

/** What to check when SecretStorage itself fails (on Linux it needs a keyring such as gnome-keyring). */
const KEYRING_HINT =
  'check that your system keyring is available and unlocked (see "Troubleshooting" in the README), then try again';

/** Dynamic client registrations in SecretStorage (a DCR client may carry a secret), keyed by issuer. */
export class SecretClientStore implements ClientStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  async get(issuer: string): Promise<ClientRegistration | undefined> {
    const text = await this.secrets.get(SECRET_KEYS.client(issuer));
    if (text === undefined) return undefined;
    try {
      const value = JSON.parse(text) as ClientRegistration;
      return typeof value?.clientId === 'string' && value.issuer === issuer ? value : undefined;
    } catch {
      return undefined; // a damaged registration is simply registered again
    }
  }

  async set(issuer: string, registration: ClientRegistration): Promise<void> {
    await this.secrets.store(SECRET_KEYS.client(issuer), JSON.stringify(registration));
  }

  async delete(issuer: string): Promise<void> {
    await this.secrets.delete(SECRET_KEYS.client(issuer));
  }
}

/**
 * DPoP keys (RFC 9449) in SecretStorage, one per (server entry, issuer): never anywhere else, never logged,
 * never exported. A damaged entry is no key: the next sign-in makes a new one (a session bound to it must sign
 * in again anyway).
 */
export class SecretDpopKeyStore implements DpopKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  async get(serverId: string, issuer: string): Promise<StoredDpopKey | undefined> {
    const text = await this.secrets.get(SECRET_KEYS.dpopKey(serverId, issuer));
    if (text === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      return isStoredDpopKey(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async set(serverId: string, issuer: string, key: StoredDpopKey): Promise<void> {
    await this.secrets.store(SECRET_KEYS.dpopKey(serverId, issuer), JSON.stringify(key));
  }

  async delete(serverId: string, issuer: string): Promise<void> {
    await this.secrets.delete(SECRET_KEYS.dpopKey(serverId, issuer));
  }
}
