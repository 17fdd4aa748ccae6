import * as vscode from 'vscode';
import type { DeviceAuthorization } from '../oauth/grants/deviceCode';
import { cryptoRandom } from '../oauth/http/random';
import type { FallbackChoice, RedirectReceiver, SignInHost } from '../oauth/session/host';
import { startLoopbackReceiver } from '../oauth/session/loopbackReceiver';
import { presentDeviceCode } from './deviceCodeUi';
import type { ServerEntry } from './model/serverConfig';
import { openExternalUrl } from './openExternal';
import type { UriCallbacks } from './uriCallbacks';
import { sameUserOnly } from '../platform/loopbackPeer';

export interface SignInUi {
  readonly signal: AbortSignal;
  /** Ends the sign-in (the user chose Cancel somewhere). */
  readonly abort: () => void;
  readonly progress: vscode.Progress<{ message?: string }>;
}

/**
 * VS Code as a sign-in host, for one sign-in of one server: the browser comes back through the URI handler
 * (made reachable with `asExternalUri`, so it also works remote and in the browser) or a loopback receiver;
 * the device code shows with Copy & Open; a client secret or key is asked for in an input box or a file
 * dialog; step-ups and fallbacks are confirmed in modals and notifications; progress goes to the sign-in
 * notification, whose Cancel ends everything.
 */
export function vscodeSignInHost(entry: ServerEntry, ui: SignInUi, callbacks: UriCallbacks): SignInHost {
  return {
    receivers: ['uriHandler', 'loopback'],
    signal: ui.signal,
    openReceiver: (kind, { path, port }) => (kind === 'uriHandler' ? callbacks.receiver(path) : loopback(path, port)),
    async openBrowser(url) {
      await openExternalUrl(url);
    },
    showDeviceCode: (device: DeviceAuthorization) => presentDeviceCode(entry, device, ui.abort, ui.progress),
    async askCredentials({ clientId, method, identityProvider }) {
      if (method === 'private_key_jwt') {
        const pem = await askPrivateKey(entry, clientId);
        return pem === undefined ? undefined : { privateKeyPem: pem };
      }
      const at = identityProvider ? `your identity provider ${new URL(identityProvider).host}` : entry.name;
      const secret = await vscode.window.showInputBox({
        title: `Client secret at ${at}`,
        prompt: `The client ${clientId} needs its secret. It is kept in VS Code's secret storage, never in settings.`,
        password: true,
        ignoreFocusOut: true,
      });
      return secret ? { clientSecret: secret } : undefined;
    },
    async confirm(question) {
      if (question.kind === 'stepUp') {
        const approve = 'Approve';
        const scopes = question.scopes.length ? question.scopes.join(' ') : 'more access';
        const choice = await vscode.window.showWarningMessage(
          `${entry.name} asks for more access (${scopes}).`,
          { modal: true, detail: 'You will be asked to sign in again in the browser.' },
          approve,
        );
        return choice === approve;
      }
      const useDevice = 'Use a Device Code';
      const choice = await vscode.window.showWarningMessage(
        `Signing in to ${entry.name}: ${question.reason}.`,
        {
          modal: true,
          detail: 'You can sign in with a device code instead: a code you enter on a web page, from any device.',
        },
        useDevice,
      );
      return choice === useDevice;
    },
    async offerFallbacks(offer, signal) {
      const labels: Record<FallbackChoice, string> = {
        pasteRedirect: 'Paste the Redirect URL…',
        deviceCode: 'Use a Device Code',
      };
      const pending = vscode.window.showInformationMessage(
        `Still waiting for the browser to return to VS Code for ${entry.name}.`,
        ...offer.choices.map((c) => labels[c]),
      );
      const chosen = await Promise.race([
        pending,
        new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true })),
      ]);
      return offer.choices.find((c) => labels[c] === chosen);
    },
    askRedirectUrl: async () =>
      vscode.window.showInputBox({
        title: 'Paste the URL the browser ended on',
        ignoreFocusOut: true,
        password: true,
        prompt: 'It starts with the redirect URI and carries code and state.',
      }),
    progress: (message) => ui.progress.report({ message }),
  };
}

/**
 * A loopback receiver whose URLs the browser can reach: through `asExternalUri`, which forwards the port in
 * a remote window and maps it onto code-server's proxy in the browser. A fixed port (a client registered
 * with one) keeps its exact redirect URI.
 */
async function loopback(path: string, port: number | undefined): Promise<RedirectReceiver> {
  const receiver = await startLoopbackReceiver({
    path,
    ...(port !== undefined ? { port } : {}),
    returnTo: 'VS Code',
    random: cryptoRandom,
    ...sameUserOnly(),
  });
  const external = async (url: string) => (await vscode.env.asExternalUri(vscode.Uri.parse(url))).toString(true);
  const redirectUri = port !== undefined ? receiver.redirectUri : await external(receiver.redirectUri);
  return {
    ...receiver,
    kind: 'loopback',
    redirectUri,
    browserUrl: async (authorizationUrl, state) => external(await receiver.browserUrl(authorizationUrl, state)),
    wait: (state, options) => receiver.wait(state, options),
    deliver: (pasted) => receiver.deliver(pasted),
    settle: (state, outcome) => receiver.settle(state, outcome),
    close: () => receiver.close(),
  };
}

/** The client's private key for private_key_jwt, read from a PEM file the user picks (on the remote side in a remote window). */
async function askPrivateKey(entry: ServerEntry, clientId: string): Promise<string | undefined> {
  const [file] =
    (await vscode.window.showOpenDialog({
      title: `Private key of the client ${clientId} for ${entry.name} (PKCS#8 PEM; kept in VS Code's secret storage)`,
      openLabel: 'Use This Key',
      canSelectMany: false,
      filters: { 'PEM private key': ['pem', 'key'], 'All files': ['*'] },
    })) ?? [];
  return file ? new TextDecoder().decode(await vscode.workspace.fs.readFile(file)) : undefined;
}
