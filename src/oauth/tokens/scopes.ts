/**
 * Scopes as a value: a sorted set with a canonical string form. Normalised once at the boundary.
 */
export class Scopes {
  private constructor(readonly values: readonly string[]) {}

  static of(values: Iterable<string> | undefined): Scopes {
    return new Scopes([...new Set([...(values ?? [])].flatMap((s) => s.split(' ')).filter(Boolean))].sort());
  }

  static parse(text: string | undefined): Scopes {
    return Scopes.of(text ? text.split(' ') : []);
  }

  get isEmpty(): boolean {
    return this.values.length === 0;
  }

  has(scope: string): boolean {
    return this.values.includes(scope);
  }

  union(other: Scopes | Iterable<string>): Scopes {
    return Scopes.of([...this.values, ...(other instanceof Scopes ? other.values : other)]);
  }

  covers(other: Scopes): boolean {
    return other.values.every((s) => this.values.includes(s));
  }

  toString(): string {
    return this.values.join(' ');
  }
}

export interface ScopeSources {
  /** Scopes from the settings, which win. */
  readonly configured?: readonly string[];
  /** Scopes named by the server's `WWW-Authenticate` challenge. */
  readonly challenged?: readonly string[];
  /** `scopes_supported` from the protected resource metadata. */
  readonly resourceSupported?: readonly string[];
  /** `scopes_supported` from the authorization server metadata (for `offline_access`). */
  readonly authServerSupported?: readonly string[];
  /** Whether refresh tokens are wanted (the client may use the refresh_token grant). */
  readonly wantRefresh?: boolean;
}

/**
 * The MCP spec's scope selection: the configured scopes, else the challenge's, else the resource's
 * `scopes_supported`, else none (the parameter is omitted). `offline_access` is added only when the
 * authorization server lists it.
 */
export function selectScopes(sources: ScopeSources): Scopes {
  const base = sources.configured?.length
    ? sources.configured
    : sources.challenged?.length
      ? sources.challenged
      : (sources.resourceSupported ?? []);
  let scopes = Scopes.of(base);
  if (scopes.isEmpty) return scopes;
  const asLists = sources.authServerSupported?.includes('offline_access') ?? false;
  if (scopes.has('offline_access') && !asLists) scopes = Scopes.of(scopes.values.filter((s) => s !== 'offline_access'));
  else if (asLists && sources.wantRefresh) scopes = scopes.union(['offline_access']);
  return scopes;
}
