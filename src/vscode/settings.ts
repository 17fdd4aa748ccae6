import * as vscode from 'vscode';
import { McpOAuthError } from '../oauth/errors';
import type { EnterpriseIdpOptions } from '../oauth/session/authOptions';
import { parseEnterpriseIdp } from './model/identityProviderAccount';
import { parseServers, type ParsedServers } from './model/serverConfig';

export const SECTION = 'mcpOAuth';

/** Reads and validates the settings; `onDidChange` fires when any `mcpOAuth.*` setting changes. */
export class Settings implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly listener: vscode.Disposable;
  private cached: ParsedServers | undefined;
  private cachedIdp: { readonly idp?: EnterpriseIdpOptions; readonly problem?: string } | undefined;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      this.cached = undefined;
      this.cachedIdp = undefined;
      this.emitter.fire();
    });
  }

  servers(): ParsedServers {
    return (this.cached ??= parseServers(vscode.workspace.getConfiguration(SECTION).get('servers')));
  }

  /**
   * The enterprise identity provider (`mcpOAuth.enterpriseIdp`), from the user's own settings only: a
   * workspace cannot choose where the user signs in, nor where the ID token goes. `problem` says why a value
   * set there cannot be used.
   */
  enterpriseIdp(): { readonly idp?: EnterpriseIdpOptions; readonly problem?: string } {
    return (this.cachedIdp ??= (() => {
      const value = vscode.workspace.getConfiguration(SECTION).inspect('enterpriseIdp')?.globalValue;
      try {
        const idp = parseEnterpriseIdp(value);
        return idp ? { idp } : {};
      } catch (error) {
        return { problem: error instanceof McpOAuthError ? error.message : 'mcpOAuth.enterpriseIdp is malformed' };
      }
    })());
  }

  timeouts(): { timeoutMs: number; refreshBeforeMs: number } {
    const config = vscode.workspace.getConfiguration(SECTION);
    const seconds = (key: string, fallback: number, min: number) => {
      const value = config.get<number>(key);
      return typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
    };
    return {
      timeoutMs: seconds('requestTimeoutSeconds', 30, 1) * 1000,
      refreshBeforeMs: seconds('refreshBeforeExpirySeconds', 120, 0) * 1000,
    };
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}
