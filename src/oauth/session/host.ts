import type { TokenEndpointAuthMethod } from './authOptions';
import type { CredentialAnswer } from '../client/credentials';
import type { DeviceAuthorization, DeviceClock } from '../grants/deviceCode';

/**
 * The one interface between the core's sign-in and the program it runs in. VS Code, the CLI, the tests, the
 * bench and the conformance client each implement it once; the core plans the flows and runs them, so a new
 * grant never needs new glue in a host. Everything here is about the user: the core never asks the host
 * which grant to use.
 */
export interface SignInHost {
  /** The ways the browser can come back, best first (VS Code: its URI handler, then loopback). */
  readonly receivers: readonly ReceiverKind[];
  /** Opens a receiver of a kind from {@link receivers}: where the authorization response will arrive. */
  openReceiver(kind: ReceiverKind, options: ReceiverOptions): Promise<RedirectReceiver>;
  /** Shows a URL in the user's browser (or prints it where there is none). */
  openBrowser(url: string): Promise<void>;
  /** Shows the device code and where to enter it; resolves once shown, while polling starts. */
  showDeviceCode(device: DeviceAuthorization): Promise<void>;
  /**
   * Asks the user for a client credential the settings cannot hold (a secret, a private key). Called only
   * inside an interactive sign-in, never by a refresh or any other background path. Undefined: not given.
   */
  askCredentials?(request: CredentialRequest): Promise<CredentialAnswer | undefined>;
  /** Asks before something the user should agree to: a wider scope, or another way to sign in. */
  confirm?(question: SignInQuestion): Promise<boolean>;
  /**
   * While the browser has not come back for a while: offers the ways out (a device code, pasting the URL the
   * browser ended on). Resolves with the one chosen, or never; `signal` aborts when the wait ends anyway.
   */
  offerFallbacks?(offer: FallbackOffer, signal: AbortSignal): Promise<FallbackChoice | undefined>;
  /** Asks for the URL the browser ended on (it carries `code` and `state`). */
  askRedirectUrl?(): Promise<string | undefined>;
  /** A short line about what is happening now. */
  progress?(message: string): void;
  /** Ends the sign-in (the user cancelled): every step rejects with CancelledError. */
  readonly signal?: AbortSignal;
  /** The clock and sleep of device-code polling (injected by tests). Default: real time. */
  readonly clock?: DeviceClock;
}

/** `uriHandler`: the editor's own URI (VS Code). `loopback`: http://127.0.0.1:<port> (RFC 8252 §7.3). */
export type ReceiverKind = 'uriHandler' | 'loopback';

export interface ReceiverOptions {
  /**
   * The redirect path: `/callback`, or `/callback/<authorization server>` for the clients the product
   * registers itself (a redirect URI per authorization server is the mix-up defence of RFC 9700 §4.4).
   */
  readonly path: string;
  /** A loopback port to listen on (the one the registration names); ephemeral otherwise. */
  readonly port?: number;
  /**
   * The settings fix the port (`auth.loopbackPort`, a client registered with that exact redirect URI): the
   * redirect URI is exactly `http://127.0.0.1:<port><path>`, never mapped for a remote window.
   */
  readonly exact?: boolean;
}

/** Where one sign-in's authorization response arrives. */
export interface RedirectReceiver {
  readonly kind: ReceiverKind;
  /** The `redirect_uri` to register and send. */
  readonly redirectUri: string;
  /** The local port a loopback receiver listens on (kept with a registration, to reuse it next time). */
  readonly port?: number;
  /**
   * What to open in the browser for `authorizationUrl`. The loopback receiver hands out a one-time local
   * start URL that binds the callback to the browser that opens it (another local user who reads the URL
   * cannot complete the sign-in with their own account); others return `authorizationUrl` itself.
   */
  browserUrl(authorizationUrl: string, state: string): Promise<string>;
  /** Resolves with the callback for `state` (registered synchronously: call before opening the browser). */
  wait(state: string, options: { readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<URL>;
  /** A redirect URL the user pasted: handed to the waiting sign-in whose `state` it carries. */
  deliver(url: string): boolean;
  /** Tells the browser how the sign-in ended; the page says "signed in" only after the code was redeemed. */
  settle(state: string, outcome: { readonly ok: true } | { readonly ok: false; readonly message: string }): void;
  close(): Promise<void>;
}

export interface CredentialRequest {
  readonly clientId: string;
  /** `client_secret_basic`/`client_secret_post` want a secret; `private_key_jwt` a PKCS#8 PEM key. */
  readonly method: Exclude<TokenEndpointAuthMethod, 'none'>;
  /** Set when the client is the one registered at the enterprise identity provider (its issuer). */
  readonly identityProvider?: string;
}

export type SignInQuestion =
  | { readonly kind: 'stepUp'; readonly scopes: readonly string[] }
  | { readonly kind: 'fallback'; readonly to: FallbackChoice; readonly reason: string };

export type FallbackChoice = 'deviceCode' | 'pasteRedirect';

export interface FallbackOffer {
  readonly choices: readonly FallbackChoice[];
  /** Why: "the browser has not come back". */
  readonly reason: string;
}
