import { fetchPlainUrl, type MediaFetcher } from '../media-fetch.js';

/** Qiscus attachments (REFERENCE §3.2): the webhook's URL, fetched without credentials. */
export function qiscusMediaFetcher(): MediaFetcher {
  return {
    open: (ref, options) => fetchPlainUrl(ref.ref, options),
  };
}
