// The extension's heavy half (SessionService, which needs no running VS Code) with its one session store
// (SessionStore over SecretStorage), for enterprise-managed servers and workload identity, against the real
// peers: one IdentityProvider shared by every enterprise server, its session kept in SecretStorage under the
// identity provider's own id and announced by the session store (what the Accounts menu lists), its client
// secret asked for once; a workload token file read through the host's reader.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { McpOAuthError } from '../../src/oauth/errors';
import { nullLogger } from '../../src/oauth/http/logger';
import type { EnterpriseIdpOptions } from '../../src/oauth/session/authOptions';
import type { CredentialRequest } from '../../src/oauth/session/host';
import { IDENTITY_PROVIDER_ID, identityProviderEntry } from '../../src/vscode/model/identityProviderAccount';
import type { ServerEntry } from '../../src/vscode/model/serverConfig';
import { registrationText } from '../../src/vscode/model/treeModel';
import { SECRET_KEYS } from '../../src/vscode/secretStores';
import { SessionService } from '../../src/vscode/sessionService';
import { SessionStore, type SessionChange } from '../../src/vscode/sessionStore';
import { AS_CLIENT } from '../fixtures/idJagAuthServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { startWorkloadAuthServer, type WorkloadAuthServer } from '../fixtures/workloadAuthServer';
import { kubernetesServiceAccount, startWorkloadIssuer, type WorkloadIssuer } from '../fixtures/workloadIssuer';
import { ScriptedUser } from './support/coreHarness';
import {
  AS_SECRET,
  IDP_BASIC_CLIENT,
  IDP_SECRET,
  startEnterprisePeers,
  type EnterprisePeers,
} from './support/enterpriseHarness';
import { MemorySecrets, SlowMemento } from './support/memorySecrets';

const ROUTER = kubernetesServiceAccount('agents', 'router');

describe('SessionService and SessionStore: enterprise-managed servers and workload identity', function () {
  let peers: EnterprisePeers;
  let issuer: WorkloadIssuer;
  let workloadAs: WorkloadAuthServer;
  let workloadMcp: McpServerFixture;

  before(async () => {
    peers = await startEnterprisePeers(2);
    issuer = await startWorkloadIssuer();
    workloadAs = await startWorkloadAuthServer({
      trustedIssuers: [issuer.issuer],
      workloads: { [ROUTER.sub]: ['mcp:read', 'mcp:write'] },
    });
    workloadMcp = await startSplitDomainServer({ as: workloadAs });
  });
  after(async () => {
    await workloadMcp.close();
    await workloadAs.close();
    await issuer.close();
    await peers.close();
  });

  const enterpriseEntry = (i: number): ServerEntry => ({
    id: `enterprise-${i}`,
    name: `Enterprise ${i}`,
    url: peers.servers[i]!.url,
    transport: 'http',
    auth: { redirect: 'auto', flow: 'enterpriseManaged', clientId: AS_CLIENT.client_id! },
  });

  /** The extension's wiring: the session store over SecretStorage, the service over the store, as ServerManager does. */
  function setUp(idp: EnterpriseIdpOptions | undefined, files: Map<string, string> = new Map()) {
    const secrets = new MemorySecrets();
    const entries = [enterpriseEntry(0), enterpriseEntry(1)];
    const sessions = new SessionStore({
      secrets,
      memento: new SlowMemento(),
      logger: nullLogger,
      entries: () => (idp ? [...entries, identityProviderEntry(idp)] : entries),
    });
    const changes: SessionChange[] = [];
    sessions.onDidChange((change) => changes.push(change));
    const service = new SessionService({
      secrets,
      tokens: sessions.tokens,
      sessions: () => sessions.all(),
      logger: nullLogger,
      settings: () => ({ timeoutMs: 10_000, refreshBeforeMs: 60_000 }),
      onStatus: () => undefined,
      stepUp: async () => false,
      enterpriseIdp: () => idp,
      readTextFile: async (path) => {
        const text = files.get(path);
        if (text === undefined) throw new Error(`ENOENT: ${path}`);
        return text;
      },
    });
    return { secrets, sessions, changes, service, entries };
  }
  const idpSettings = (): EnterpriseIdpOptions => ({ issuer: peers.idp.issuer, clientId: IDP_BASIC_CLIENT.client_id! });

  /** The user at VS Code: approves in the browser, types the secret asked for (the AS's or the IdP's). */
  class User extends ScriptedUser {
    override async askCredentials(request: CredentialRequest) {
      this.asked.push(request);
      return { clientSecret: request.identityProvider ? IDP_SECRET : AS_SECRET };
    }
  }

  it('signs in through the IdP once for two servers, keeps its session under its own id, and announces it', async () => {
    const { secrets, sessions, changes, service, entries } = setUp(idpSettings());
    const user = new User();
    const first = await service.signIn(entries[0]!, user);
    assert.equal(first.grantType, 'id_jag');
    assert.equal(user.shown.length, 1);
    assert.equal(user.shown[0]!.origin, peers.idp.issuer);
    assert.deepEqual(
      user.asked.map((r) => r.identityProvider ?? 'as'),
      ['as', peers.idp.issuer],
      'each secret asked for once',
    );
    assert.equal(secrets.values.get(SECRET_KEYS.clientSecret('enterprise-0')), AS_SECRET);
    assert.equal(
      secrets.values.get(SECRET_KEYS.identityProviderSecret(peers.idp.issuer, IDP_BASIC_CLIENT.client_id!)),
      IDP_SECRET,
    );
    assert.ok(secrets.values.has(SECRET_KEYS.tokens(IDENTITY_PROVIDER_ID)), 'the IdP session is in SecretStorage');

    const idpSession = sessions.get(IDENTITY_PROVIDER_ID);
    assert.ok(idpSession, 'the session store shows the IdP session (the Accounts menu lists it)');
    assert.equal(idpSession.account, 'alice', "the ID token's subject");
    assert.equal(idpSession.issuer, peers.idp.issuer);
    assert.ok(idpSession.refreshable, 'renewable');
    assert.deepEqual(
      changes.filter((c) => c.kind === 'added').map((c) => c.id),
      [IDENTITY_PROVIDER_ID, 'enterprise-0'],
    );
    assert.match(identityProviderEntry(idpSettings()).name, /^Identity provider 127\.0\.0\.1:\d+$/);

    // The second server: its own client secret is asked for, the IdP is not visited again.
    const second = await service.signIn(entries[1]!, user);
    assert.equal(decodeJwt(second.accessToken).aud, entries[1]!.url);
    assert.equal(user.shown.length, 1, 'no second IdP sign-in');
    assert.equal(user.asked.filter((r) => r.identityProvider).length, 1);
    assert.ok(sessions.get('enterprise-1')?.refreshable, 'renewable without the user');

    // The gateway's path: a renewal from the stored sessions alone, without any host.
    const before = sessions.get('enterprise-0')!.obtainedAt;
    await service.refresh(entries[0]!);
    assert.ok(sessions.get('enterprise-0')!.obtainedAt >= before, 'renewed');
    assert.equal(user.shown.length, 1);
  });

  it('signs in to the IdP alone (the Accounts menu), and signs out of it, revoking its refresh token', async () => {
    const { sessions, changes, service } = setUp(idpSettings());
    const user = new User();
    await service.signInIdentityProvider(user);
    assert.equal(user.shown.length, 1);
    await service.signInIdentityProvider(user);
    assert.equal(user.shown.length, 1, 'a session that is still good is not signed in again');
    const refreshToken = (await service.identityProvider()!.session())!.refreshToken!;
    const out = await service.signOutIdentityProvider();
    assert.equal(out.refreshToken, 'revoked');
    assert.equal((await peers.idp.introspect(refreshToken)).active, false);
    assert.equal(sessions.get(IDENTITY_PROVIDER_ID), undefined);
    assert.deepEqual(
      changes.map((c) => [c.kind, c.id]),
      [
        ['added', IDENTITY_PROVIDER_ID],
        ['removed', IDENTITY_PROVIDER_ID],
      ],
    );
  });

  it('uses one IdentityProvider until the setting changes, and none without it', async () => {
    let idp: EnterpriseIdpOptions | undefined = idpSettings();
    const { service, entries } = setUp(undefined);
    (service as unknown as { host: { enterpriseIdp: () => unknown } }).host.enterpriseIdp = () => idp;
    const first = service.identityProvider();
    assert.ok(first, 'an IdentityProvider');
    assert.equal(service.identityProvider(), first);
    const auth = service.auth(entries[0]!);
    assert.equal(service.auth(entries[0]!), auth, 'the same ServerAuth while nothing changed');
    idp = { ...idpSettings(), scopes: ['openid', 'email'] };
    assert.notEqual(service.identityProvider(), first);
    assert.notEqual(service.auth(entries[0]!), auth, 'a new ServerAuth with the new IdP');
    idp = undefined;
    assert.equal(service.identityProvider(), undefined);
    await assert.rejects(
      service.signIn(entries[0]!, new User()),
      (e: McpOAuthError) => e.code === 'invalid_config' && /mcpOAuth\.enterpriseIdp/.test(e.message),
    );
  });

  it('gets a workload identity token with the file the host reads, and shows it as no client registration', async () => {
    const files = new Map<string, string>();
    const file = '/var/run/secrets/tokens/mcp';
    const mint = async () =>
      files.set(
        file,
        await issuer.mint({ sub: ROUTER.sub, audience: workloadAs.tokenEndpoint, claims: ROUTER.claims }),
      );
    await mint();
    const { service, sessions } = setUp(undefined, files);
    const entry: ServerEntry = {
      id: 'workload',
      name: 'Workload',
      url: workloadMcp.url,
      transport: 'http',
      auth: { redirect: 'auto', flow: 'workloadIdentity', workloadTokenFile: file },
    };
    (sessions as unknown as { host: { entries: () => ServerEntry[] } }).host.entries = () => [entry];
    const user = new User();
    const tokens = await service.signIn(entry, user);
    assert.equal(user.shown.length + user.asked.length, 0, 'no browser, nothing asked');
    assert.equal(tokens.registration, 'none');
    const info = sessions.get('workload')!;
    assert.equal(info.account, ROUTER.sub);
    assert.ok(info.refreshable, 'renewable');
    assert.equal(registrationText(info.registration), 'no client registration (workload identity)');
    await mint();
    await service.refresh(entry);
    assert.equal(workloadAs.grants.filter((g) => !g.error).length, 2);
  });
});
