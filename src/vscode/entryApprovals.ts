import * as vscode from 'vscode';
import type { Logger } from '../oauth/http/logger';
import {
  approvalQuestion,
  entryFingerprint,
  needsApproval,
  type ApprovalQuestion,
  type SettingsSource,
} from './model/entryApproval';
import type { ServerEntry } from './model/serverConfig';

/** Asks the user; resolves true only on an explicit "Allow". */
export type ApprovalPrompt = (question: ApprovalQuestion) => Promise<boolean>;

const APPROVED_KEY = 'mcpOAuth.approvedEntries';
/** Approvals kept per workspace; the oldest go first. */
const MAX_APPROVALS = 100;
const ALLOW = 'Allow';

const modalPrompt: ApprovalPrompt = async ({ message, detail }) =>
  (await vscode.window.showWarningMessage(message, { modal: true, detail }, ALLOW)) === ALLOW;

/**
 * The user's approvals of the entries a workspace's settings add (see `needsApproval`): asked once per exact
 * entry in a modal, remembered in this workspace's state, and lapsed as soon as the entry changes.
 */
export class EntryApprovals {
  /** One question at a time per entry: a sign-in and a server start asking together share the answer. */
  private readonly asking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly state: vscode.Memento,
    private readonly source: () => SettingsSource,
    private readonly logger: Logger,
    /** The question itself; the integration tests answer it in place of a person. */
    public prompt: ApprovalPrompt = modalPrompt,
  ) {}

  /** Whether the entry may act now, without asking. */
  isAllowed(entry: ServerEntry): boolean {
    return !needsApproval(entry, this.source()) || this.approved().includes(entryFingerprint(entry));
  }

  /** Whether the entry may act, asking the user when it needs an approval it does not have. */
  allow(entry: ServerEntry): Promise<boolean> {
    if (this.isAllowed(entry)) return Promise.resolve(true);
    const fingerprint = entryFingerprint(entry);
    let answer = this.asking.get(fingerprint);
    if (!answer) {
      answer = this.ask(entry, fingerprint).finally(() => this.asking.delete(fingerprint));
      this.asking.set(fingerprint, answer);
    }
    return answer;
  }

  private async ask(entry: ServerEntry, fingerprint: string): Promise<boolean> {
    const allowed = await this.prompt(approvalQuestion(entry));
    this.logger.info(`[approval] [${entry.id}] the workspace's entry was ${allowed ? 'allowed' : 'not allowed'}`);
    if (allowed) {
      const kept = this.approved().filter((f) => f !== fingerprint);
      await this.state.update(APPROVED_KEY, [...kept, fingerprint].slice(-MAX_APPROVALS));
    }
    return allowed;
  }

  private approved(): readonly string[] {
    const value = this.state.get<unknown>(APPROVED_KEY);
    return Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : [];
  }
}
