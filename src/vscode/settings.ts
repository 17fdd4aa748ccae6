import * as vscode from 'vscode';
import type { EnterpriseIdpOptions } from '../oauth/session/authOptions';
import type { SettingsSource } from './model/entryApproval';
import { parseEnterpriseIdp, parseSettings, type ParsedSettings } from './model/serverConfig';

export const SECTION = 'mcpOAuth';

/** The validated `mcpOAuth.servers`, and whose settings they come from. */
export interface ServersSetting extends ParsedSettings {
  readonly source: SettingsSource;
}

/**
 * Reads and validates the settings; `onDidChange` fires when any `mcpOAuth.*` setting changes, and when the
 * workspace becomes trusted (its own servers then count).
 */
export class Settings implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly listeners: vscode.Disposable[];
  private cached: ServersSetting | undefined;

  constructor() {
    const changed = () => {
      this.cached = undefined;
      this.emitter.fire();
    };
    this.listeners = [
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(SECTION) && changed()),
      vscode.workspace.onDidGrantWorkspaceTrust(changed),
    ];
  }

  /**
   * The servers in effect, and the enterprise identity provider their `enterpriseManaged` entries need. A
   * workspace's own server list replaces the user's (VS Code does not merge arrays), and counts only in a
   * trusted workspace: `mcpOAuth.servers` is a restricted setting, and it is read here scope by scope so that
   * no workspace value is taken in Restricted Mode whatever VS Code returns. The identity provider is the
   * user's alone (an application-scoped setting): where you sign in is never a repository's choice.
   */
  servers(): ServersSetting {
    if (this.cached) return this.cached;
    const config = vscode.workspace.getConfiguration(SECTION);
    const inspected = config.inspect<unknown>('servers');
    const workspace = vscode.workspace.isTrusted
      ? (inspected?.workspaceFolderValue ?? inspected?.workspaceValue)
      : undefined;
    const servers = workspace ?? inspected?.globalValue ?? inspected?.defaultValue;
    const enterpriseIdp = config.inspect<unknown>('enterpriseIdp')?.globalValue;
    return (this.cached = {
      ...parseSettings({ servers, enterpriseIdp }),
      source: workspace !== undefined ? 'workspace' : 'user',
    });
  }

  /**
   * The enterprise identity provider (`mcpOAuth.enterpriseIdp`), from the user's own settings only: a
   * workspace cannot choose where the user signs in, nor where the ID token goes. `problem` says why a value
   * set there cannot be used.
   */
  enterpriseIdp(): { readonly idp?: EnterpriseIdpOptions; readonly problem?: string } {
    const value = vscode.workspace.getConfiguration(SECTION).inspect<unknown>('enterpriseIdp')?.globalValue;
    const parsed = parseEnterpriseIdp(value);
    if (!parsed.ok) return { problem: parsed.error.message };
    return parsed.enterpriseIdp ? { idp: parsed.enterpriseIdp } : {};
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
    for (const listener of this.listeners) listener.dispose();
    this.emitter.dispose();
  }
}
