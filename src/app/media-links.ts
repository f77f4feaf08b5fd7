import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/database.js';
import { settingOrInsert } from '../store/settings.store.js';
import type { AppContext } from './context.js';

/**
 * Signed, expiring links to media, for providers that take media by public URL only (MontyMobile,
 * Qiscus): `{PUBLIC_URL}/media-links/{media_id}?exp={unix seconds}&sig={HMAC-SHA256}`. The link
 * needs no session: whoever holds it can fetch those bytes until `exp`, and nothing else.
 */
export interface MediaLinks {
  /** A link valid for MEDIA_LINK_TTL_SECONDS from `now`; null when PUBLIC_URL is unset (nobody outside could reach it). */
  linkFor(mediaId: string, now?: Date): string | null;
  /** True when `sig` is the signature of (media id, exp) and `exp` is not past. Constant-time in the signature. */
  verify(mediaId: string, exp: string, sig: string, now?: Date): boolean;
}

/** The `settings` key of the generated signing key. */
export const MEDIA_LINK_SECRET_SETTING = 'media_link_secret';

const loaded = new WeakMap<Store, Promise<string>>();

/**
 * The links of this process. The key is MEDIA_LINK_SECRET, or else a random one stored once in the
 * database (migration 0010) so that every process on it signs and checks the same links; read once
 * per store.
 */
export async function loadMediaLinks(ctx: Pick<AppContext, 'config' | 'store' | 'committer'>): Promise<MediaLinks> {
  const { config, store, committer } = ctx;
  let secret: Promise<string>;
  if (config.media.linkSecret !== null) {
    secret = Promise.resolve(config.media.linkSecret);
  } else {
    // Through the committer: on SQLite a statement beside an open batch would join it.
    secret =
      loaded.get(store) ?? committer.run((tx) => settingOrInsert(tx.db, MEDIA_LINK_SECRET_SETTING, randomBytes(32).toString('base64url')));
    secret.catch(() => loaded.delete(store));
    loaded.set(store, secret);
  }
  return mediaLinks(await secret, config.publicUrl, config.media.linkTtlSeconds);
}

export function mediaLinks(secret: string, publicUrl: string | null, ttlSeconds: number): MediaLinks {
  const sign = (mediaId: string, exp: string) => createHmac('sha256', secret).update(`media-link\n${mediaId}\n${exp}`).digest();
  const base = publicUrl?.replace(/\/+$/, '') ?? null;
  return {
    linkFor(mediaId, now = new Date()) {
      if (base === null) return null;
      const exp = String(Math.floor(now.getTime() / 1000) + ttlSeconds);
      return `${base}/media-links/${encodeURIComponent(mediaId)}?exp=${exp}&sig=${sign(mediaId, exp).toString('base64url')}`;
    },
    verify(mediaId, exp, sig, now = new Date()) {
      if (!/^\d{1,12}$/.test(exp) || Number(exp) < now.getTime() / 1000) return false;
      if (!/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
      // Compared as text, not decoded: base64url's last character carries two unused bits, so
      // decoding would accept four spellings of one signature.
      const given = Buffer.from(sig, 'latin1');
      const expected = Buffer.from(sign(mediaId, exp).toString('base64url'), 'latin1');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
