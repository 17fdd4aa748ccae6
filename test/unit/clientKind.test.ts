import assert from 'node:assert/strict';
import { clientKind } from '../../src/oauth/client/clientKind';

describe('clientKind: the one rule for choosing the client', () => {
  const table: [
    string,
    { clientId?: string; clientMetadataUrl?: string },
    { registration_endpoint?: string; client_id_metadata_document_supported?: boolean },
    string,
  ][] = [
    [
      'a configured client id wins',
      { clientId: 'c' },
      { registration_endpoint: 'https://as/register', client_id_metadata_document_supported: true },
      'preregistered',
    ],
    [
      'CIMD when configured and supported',
      { clientMetadataUrl: 'https://app.example/client.json' },
      { registration_endpoint: 'https://as/register', client_id_metadata_document_supported: true },
      'cimd',
    ],
    [
      'not CIMD when unsupported',
      { clientMetadataUrl: 'https://app.example/client.json' },
      { registration_endpoint: 'https://as/register' },
      'dcr',
    ],
    ['not CIMD without a metadata URL', {}, { client_id_metadata_document_supported: true }, 'needsClientId'],
    ['DCR with a registration endpoint', {}, { registration_endpoint: 'https://as/register' }, 'dcr'],
    ['a client id is needed otherwise', {}, {}, 'needsClientId'],
  ];
  for (const [what, options, as, plan] of table) it(what, () => assert.equal(clientKind(options, as), plan));
});
