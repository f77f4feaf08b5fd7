/**
 * What an operator may send as media (REFERENCE §1.12, WhatsApp's outbound limits), decided from the
 * declared type AND the bytes: a file is accepted only when its content is what it claims to be.
 */
import { DomainError } from '../chat/errors.js';

export const UPLOAD_KINDS = ['photo', 'document', 'voice', 'audio', 'video'] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

const MB = 1024 * 1024;

/** WhatsApp's outbound size limits per kind; every one is further bounded by MEDIA_MAX_BYTES. */
export const KIND_MAX_BYTES: Record<UploadKind, number> = {
  photo: 5 * MB,
  audio: 16 * MB,
  voice: 16 * MB,
  video: 16 * MB,
  document: 100 * MB,
};

/** The type WhatsApp needs to show a voice note. */
export const VOICE_MIME_TYPE = 'audio/ogg; codecs=opus';

const DOCUMENT_TYPES = [
  'application/pdf',
  'text/plain',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
] as const;

/** Types accepted per kind. WebM is accepted only as a voice note, which is remuxed to Ogg. */
const KIND_TYPES: Record<UploadKind, readonly string[]> = {
  photo: ['image/jpeg', 'image/png'],
  audio: ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg'],
  voice: ['audio/ogg', 'audio/webm'],
  video: ['video/mp4', 'video/3gpp'],
  document: DOCUMENT_TYPES,
};

/** Common spellings of the same type, as browsers and operating systems declare them. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/aacp': 'audio/aac',
  'audio/x-aac': 'audio/aac',
  'audio/opus': 'audio/ogg',
  'video/3gp': 'video/3gpp',
};

/** The container a file's first bytes identify (magic numbers); null when none we know. */
export type Sniffed =
  | 'image/jpeg'
  | 'image/png'
  | 'image/gif'
  | 'image/webp'
  | 'application/pdf'
  | 'zip'
  | 'ole'
  | 'audio/aac'
  | 'audio/amr'
  | 'audio/mpeg'
  | 'audio/ogg'
  | 'webm'
  | 'ftyp'
  | 'ftyp-3gp';

/** Identifies a file by its first bytes (64 are enough). */
export function sniff(head: Buffer): Sniffed | null {
  const starts = (hex: string, at = 0) =>
    head.length >= at + hex.length / 2 && head.subarray(at, at + hex.length / 2).toString('hex') === hex;
  const ascii = (text: string, at = 0) => head.length >= at + text.length && head.toString('latin1', at, at + text.length) === text;
  if (starts('ffd8ff')) return 'image/jpeg';
  if (starts('89504e470d0a1a0a')) return 'image/png';
  if (ascii('GIF87a') || ascii('GIF89a')) return 'image/gif';
  if (ascii('RIFF') && ascii('WEBP', 8)) return 'image/webp';
  if (ascii('%PDF-')) return 'application/pdf';
  if (starts('504b0304')) return 'zip';
  if (starts('d0cf11e0a1b11ae1')) return 'ole';
  if (ascii('#!AMR\n')) return 'audio/amr';
  if (ascii('OggS')) return 'audio/ogg';
  if (starts('1a45dfa3')) return 'webm';
  if (ascii('ftyp', 4)) return ascii('3g', 8) ? 'ftyp-3gp' : 'ftyp';
  if (ascii('ID3')) return 'audio/mpeg';
  if (head.length >= 2 && head[0] === 0xff) {
    // Frame sync: ADTS (AAC) has layer bits 00, MPEG audio layers I–III do not.
    if ((head[1]! & 0xf6) === 0xf0) return 'audio/aac';
    if ((head[1]! & 0xe0) === 0xe0 && (head[1]! & 0x06) !== 0) return 'audio/mpeg';
  }
  return null;
}

/** Whether bytes identified as `sniffed` can be a file of `type`. */
function contentMatches(type: string, sniffed: Sniffed | null, head: Buffer): boolean {
  switch (type) {
    case 'text/plain':
      return sniffed === null && !head.includes(0);
    case 'application/msword':
    case 'application/vnd.ms-excel':
    case 'application/vnd.ms-powerpoint':
      return sniffed === 'ole';
    case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
    case 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet':
    case 'application/vnd.openxmlformats-officedocument.presentationml.presentation':
      return sniffed === 'zip';
    case 'audio/mp4':
    case 'video/mp4':
      return sniffed === 'ftyp' || sniffed === 'ftyp-3gp';
    case 'video/3gpp':
      return sniffed === 'ftyp-3gp' || sniffed === 'ftyp';
    case 'audio/webm':
      return sniffed === 'webm';
    default:
      return sniffed === type;
  }
}

/** The type to assume when the client declared none (or a generic one): the bytes decide. */
function typeOfSniffed(sniffed: Sniffed | null): string | null {
  switch (sniffed) {
    case null:
    case 'zip':
    case 'ole':
      return null; // a text or an Office file: its type must be declared
    case 'webm':
      return 'audio/webm';
    case 'ftyp':
      return 'video/mp4';
    case 'ftyp-3gp':
      return 'video/3gpp';
    default:
      return sniffed;
  }
}

/** `image/JPG; charset=…` → `image/jpeg`; empty and generic types → null. */
export function normaliseType(declared: string | null | undefined): string | null {
  const base = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  if (base === '' || base === 'application/octet-stream' || base === 'binary/octet-stream') return null;
  return ALIASES[base] ?? base;
}

/** The kind a type is sent as when the client did not say: recorded audio (Ogg, WebM) is a voice note. */
function defaultKind(type: string): UploadKind {
  if (type.startsWith('image/')) return 'photo';
  if (type.startsWith('video/')) return 'video';
  if (type === 'audio/ogg' || type === 'audio/webm') return 'voice';
  if (type.startsWith('audio/')) return 'audio';
  return 'document';
}

/** A byte count for people: `5 MB`, `64 KB`, `1.5 MB`. */
export function describeSize(n: number): string {
  if (n >= MB) return `${(n / MB).toFixed(n % MB === 0 ? 0 : 1)} MB`;
  return `${Math.ceil(n / 1024)} KB`;
}

/** The most bytes worth receiving for a file declared as `declared` (sent as `kind` when known). */
export function receiveLimit(declared: string | null, kind: UploadKind | null, mediaMaxBytes: number): number {
  const type = normaliseType(declared);
  const k = kind ?? (type ? defaultKind(type) : 'document');
  return Math.min(KIND_MAX_BYTES[k], mediaMaxBytes);
}

export interface UploadCheck {
  declaredType: string | null;
  /** The kind the client asked for (form field `type`); null to infer it from the type. */
  kind: UploadKind | null;
  size: number;
  /** The file's first bytes (at least 64 when it has them). */
  head: Buffer;
  mediaMaxBytes: number;
}

export interface AcceptedUpload {
  kind: UploadKind;
  /** The normalised type the bytes were checked against (`audio/webm` still needs its remux). */
  type: string;
}

/**
 * Accepts or refuses an upload before anything of it is stored: empty files, types WhatsApp does
 * not take for the kind (`validation_failed`), bytes that are not what the type says
 * (`validation_failed`), and files over the kind's limit (`payload_too_large`).
 */
export function checkUpload(input: UploadCheck): AcceptedUpload {
  if (input.size === 0) throw new DomainError('validation_failed', 'the file is empty');
  const sniffed = sniff(input.head);
  const declared = normaliseType(input.declaredType);
  const type = declared ?? typeOfSniffed(sniffed);
  if (!type) throw new DomainError('validation_failed', "the file's type is unknown: send it with its content type");
  const kind = input.kind ?? defaultKind(type);
  if (!KIND_TYPES[kind].includes(type)) {
    if (kind === 'voice')
      throw new DomainError('validation_failed', `a voice note must be Ogg/Opus or WebM/Opus, not ${type}`, { field: 'file' });
    throw new DomainError(
      'validation_failed',
      `${type} cannot be sent as ${kind === 'audio' ? 'audio' : `a ${kind}`}; accepted: ${KIND_TYPES[kind].join(', ')}`,
      { field: 'file' },
    );
  }
  if (!contentMatches(type, sniffed, input.head)) {
    throw new DomainError('validation_failed', `the file's bytes are not ${type}${sniffed ? ` (they look like ${sniffed})` : ''}`, {
      field: 'file',
    });
  }
  const limit = Math.min(KIND_MAX_BYTES[kind], input.mediaMaxBytes);
  if (input.size > limit) {
    throw new DomainError(
      'payload_too_large',
      `${kind === 'audio' || kind === 'voice' ? `${kind === 'voice' ? 'voice notes' : 'audio files'}` : `${kind}s`} are limited to ${describeSize(limit)}; this file has ${input.size} bytes`,
    );
  }
  return { kind, type };
}
