import { fetchPlainUrl, OPEN_POLICY, type FetchPolicy, type MediaFetcher } from '../media-fetch.js';

/** Qiscus attachments (REFERENCE §3.2): the webhook's URL, fetched without credentials, within the fetch policy. */
export function qiscusMediaFetcher(policy: FetchPolicy = OPEN_POLICY): MediaFetcher {
  return {
    open: (ref, options) => fetchPlainUrl(ref.ref, options, policy),
  };
}
