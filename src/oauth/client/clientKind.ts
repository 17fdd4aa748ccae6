import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import type { AuthOptions } from '../session/authOptions';

/** How the client of a sign-in is identified: the settings' client, a CIMD URL, or a dynamic registration. */
export type ClientKind = 'preregistered' | 'cimd' | 'dcr';

/**
 * The one rule for choosing the client, in the spec's order: a pre-registered client from settings, then a
 * Client ID Metadata Document when the AS supports it, then dynamic registration when the AS offers it.
 * `needsClientId` when none is possible (the AS has no DCR and the settings name no client).
 */
export function clientKind(
  options: Pick<AuthOptions, 'clientId' | 'clientMetadataUrl'>,
  as: Pick<AuthServerMetadata, 'registration_endpoint' | 'client_id_metadata_document_supported'>,
): ClientKind | 'needsClientId' {
  if (options.clientId) return 'preregistered';
  if (options.clientMetadataUrl && as.client_id_metadata_document_supported === true) return 'cimd';
  if (as.registration_endpoint) return 'dcr';
  return 'needsClientId';
}
