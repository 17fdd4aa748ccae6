import { HttpRequestError } from '../errors';
import { readJsonObject, type FetchLike } from '../http/policyFetch';
import { describeUrl } from '../http/url';

/**
 * The first metadata document found at `urls`, tried in order, with the URL it came from: a 4xx (a 404 above
 * all) moves on to the next URL; any other answer but a 200 is an `http_error`. `what` names the document.
 */
export async function firstMetadataDocument(
  fetch: FetchLike,
  urls: readonly string[],
  what: string,
): Promise<{ readonly url: string; readonly body: Record<string, unknown> } | undefined> {
  for (const url of urls) {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    if (response.status >= 400 && response.status < 500) continue;
    if (response.status !== 200) {
      throw new HttpRequestError('http_error', `${describeUrl(url)} answered HTTP ${response.status} for ${what}`);
    }
    return { url, body: await readJsonObject(response, `${what} from ${describeUrl(url)}`) };
  }
  return undefined;
}
