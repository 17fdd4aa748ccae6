// Sign Out in the Accounts menu (left open by the step before) revokes the refresh token at the AS, checked at
// the peers: a revocation request, and AS introspection calling the token inactive; the tree shows the server
// signed out.
import type { PeersState } from '../../integration/peers';
import type { Step } from '../ui';
import { ADDED } from '../ui';
import { waitFor } from '../workbench';

const revocations = (state: PeersState) =>
  state.as.requests.filter((r) => r.method === 'POST' && r.path === '/token/revocation').length;

const step: Step = {
  key: 'signOut',
  title: 'Sign Out in the Accounts menu revokes the refresh token at the AS; the tree shows the server signed out',
  needs: ['accounts'],
  async run({ wb, peers, peersState, state, shot, log }) {
    const menuEntry = state.menuEntry ?? '';
    const resource = peers.MCP_OAUTH_TEST_MCP;
    const before = await peersState();
    const live = before.as.refreshTokens.filter((t) => t.resource === resource && t.active).map((t) => t.n);
    if (!live.length)
      throw new Error(
        `no active refresh token for ${ADDED} before signing out: ${JSON.stringify(before.as.refreshTokens)}`,
      );
    await wb.menuItems('Sign Out').first().click();
    await waitFor('the sign-out confirmation', async () => /Sign out of/.test(await wb.dialog().innerText()), 10_000);
    await wb.clickDialogButton('Sign Out');
    const after = await waitFor(
      `a revocation request at the AS after "Sign Out" of ${menuEntry}`,
      async () => {
        const now = await peersState();
        return revocations(now) > revocations(before) ? now : undefined;
      },
      20_000,
    ).catch(async (err: unknown) => {
      const signedIn = (await wb.treeText()).filter((t) => /alice@example\.test ·/.test(t));
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}. Nothing was signed out; still signed in: ${JSON.stringify(signedIn)}. VS Code's Sign Out removes the ` +
          `provider's sessions whose account label equals the menu entry's ("${menuEntry.replace(/ \(MCP OAuth\)$/, '')}"), and the menu takes ` +
          'its labels from the sessions in onDidChangeSessions events: those must carry the same account as getSessions().',
        { cause: err },
      );
    });
    const still = await waitFor(
      'AS introspection to call the refresh token inactive',
      async () => {
        const now = await peersState();
        return now.as.refreshTokens.some((t) => live.includes(t.n) && t.active) ? undefined : now;
      },
      10_000,
    );
    await wb.openSidebar();
    await waitFor(
      `${ADDED} to show signed out`,
      async () => (await wb.treeText()).some((t) => t.startsWith(`${ADDED} signed out`)),
      15_000,
    );
    await shot('signed-out');
    log(
      `revocation requests: ${revocations(before)} → ${revocations(after)}; refresh token(s) ${live.join(', ')} now inactive (${JSON.stringify(still.as.refreshTokens.map((t) => `${t.n}:${t.active ? 'active' : 'inactive'}`))})`,
    );
  },
};
export default step;
