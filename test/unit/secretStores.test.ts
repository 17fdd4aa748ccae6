import assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import { McpOAuthError } from '../../src/oauth/errors';
import { SecretTokenStore, SECRET_KEYS, serverIdOfTokensKey } from '../../src/vscode/secretStores';

/** Token sets in VS Code's SecretStorage: what a damaged entry or a failing keyring turns into. */

function secrets(overrides: Partial<vscode.SecretStorage>, values = new Map<string, string>()): vscode.SecretStorage {
  return {
    get: async (key) => values.get(key),
    store: async (key, value) => void values.set(key, value),
    delete: async (key) => void values.delete(key),
    onDidChange: () => ({ dispose: () => undefined }),
    ...overrides,
  };
}

const tokens = {
  accessToken: 'at',
  tokenType: 'Bearer',
  scopes: [],
  issuer: 'https://as.example.com',
  clientId: 'c',
  tokenEndpoint: 'https://as.example.com/token',
  obtainedAt: 1,
};
const keyringDown = () => Promise.reject(new Error('Cannot create an item in a locked collection'));
const isStorageError = (pattern: RegExp) => (e: unknown) =>
  e instanceof McpOAuthError &&
  e.code === 'storage_error' &&
  pattern.test(e.message) &&
  !/locked collection/.test(e.message);

describe('SecretTokenStore', () => {
  it('round-trips a token set under the server key', async () => {
    const values = new Map<string, string>();
    const store = new SecretTokenStore(secrets({}, values));
    await store.set('srv', tokens);
    assert.deepEqual([...values.keys()], [SECRET_KEYS.tokens('srv')]);
    assert.deepEqual(await store.get('srv'), tokens);
    await store.delete('srv');
    assert.equal(await store.get('srv'), undefined);
  });

  it('reports a damaged entry as storage_error naming the server and the way out', async () => {
    for (const text of ['{"accessToken": 42', '{"accessToken": 42}', 'null', '[]']) {
      const store = new SecretTokenStore(secrets({}, new Map([[SECRET_KEYS.tokens('srv'), text]])));
      await assert.rejects(store.get('srv'), isStorageError(/"srv" is damaged; sign out/));
    }
  });

  it('reports a failing keyring as storage_error with what to check, on read, write and delete', async () => {
    const store = new SecretTokenStore(secrets({ get: keyringDown, store: keyringDown, delete: keyringDown }));
    await assert.rejects(
      store.get('srv'),
      isStorageError(/could not be read for "srv"; check that your system keyring/),
    );
    await assert.rejects(store.set('srv', tokens), isStorageError(/could not be saved/));
    await assert.rejects(store.delete('srv'), isStorageError(/could not be removed/));
  });

  it('tells a tokens key from the other secrets', () => {
    assert.equal(serverIdOfTokensKey(SECRET_KEYS.tokens('a/b')), 'a/b');
    assert.equal(serverIdOfTokensKey(SECRET_KEYS.clientSecret('a')), undefined);
    assert.equal(serverIdOfTokensKey(SECRET_KEYS.client('https://as.example.com')), undefined);
  });
});
