import { describe, expect, it } from 'vitest';
import { isDomainError } from '../chat/errors.js';
import { checkUpload, normaliseType, receiveLimit, sniff, type UploadCheck } from './upload-rules.js';

const MB = 1024 * 1024;
const hex = (h: string, pad = 64) => Buffer.concat([Buffer.from(h, 'hex'), Buffer.alloc(pad)]);
const latin = (s: string, pad = 64) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(pad)]);

/** First bytes of each format, as the files begin. */
const HEADS = {
  jpeg: hex('ffd8ffe000104a464946'),
  png: hex('89504e470d0a1a0a0000000d49484452'),
  gif: latin('GIF89a'),
  webp: latin('RIFF\x10\x00\x00\x00WEBPVP8 '),
  pdf: latin('%PDF-1.7\n'),
  zip: hex('504b030414000600'),
  ole: hex('d0cf11e0a1b11ae1'),
  amr: latin('#!AMR\n'),
  ogg: latin('OggS\x00\x02'),
  webm: hex('1a45dfa39f4286810142f7'),
  m4a: latin('\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00'),
  mp4: latin('\x00\x00\x00\x18ftypisom\x00\x00\x02\x00'),
  threeGp: latin('\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00'),
  id3: latin('ID3\x04\x00'),
  mp3: hex('fffb9064'),
  adts: hex('fff15080'),
  text: Buffer.from('Opening hours: 9–17, Monday to Friday.\n', 'utf8'),
};

const accept = (check: Partial<UploadCheck> & { head: Buffer }) =>
  checkUpload({ declaredType: null, kind: null, size: 1000, mediaMaxBytes: 100 * MB, ...check });
function refusal(check: Partial<UploadCheck> & { head: Buffer }): { code: string; message: string } {
  try {
    accept(check);
  } catch (err) {
    if (isDomainError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('upload rules (REFERENCE §1.12)', () => {
  it('identifies files by their magic numbers', () => {
    expect(sniff(HEADS.jpeg)).toBe('image/jpeg');
    expect(sniff(HEADS.png)).toBe('image/png');
    expect(sniff(HEADS.gif)).toBe('image/gif');
    expect(sniff(HEADS.webp)).toBe('image/webp');
    expect(sniff(HEADS.pdf)).toBe('application/pdf');
    expect(sniff(HEADS.zip)).toBe('zip');
    expect(sniff(HEADS.ole)).toBe('ole');
    expect(sniff(HEADS.amr)).toBe('audio/amr');
    expect(sniff(HEADS.ogg)).toBe('audio/ogg');
    expect(sniff(HEADS.webm)).toBe('webm');
    expect(sniff(HEADS.m4a)).toBe('ftyp');
    expect(sniff(HEADS.threeGp)).toBe('ftyp-3gp');
    expect(sniff(HEADS.id3)).toBe('audio/mpeg');
    expect(sniff(HEADS.mp3)).toBe('audio/mpeg');
    expect(sniff(HEADS.adts)).toBe('audio/aac');
    expect(sniff(HEADS.text)).toBeNull();
    expect(sniff(Buffer.alloc(0))).toBeNull();
  });

  it('normalises declared types: parameters, case, common aliases, generic types as none', () => {
    expect(normaliseType('Image/JPG')).toBe('image/jpeg');
    expect(normaliseType('audio/webm;codecs=opus')).toBe('audio/webm');
    expect(normaliseType('audio/x-m4a')).toBe('audio/mp4');
    expect(normaliseType('application/octet-stream')).toBeNull();
    expect(normaliseType('')).toBeNull();
  });

  it('accepts each kind WhatsApp takes, inferring the kind from the type', () => {
    expect(accept({ declaredType: 'image/jpeg', head: HEADS.jpeg })).toEqual({ kind: 'photo', type: 'image/jpeg' });
    expect(accept({ declaredType: 'image/png', head: HEADS.png })).toEqual({ kind: 'photo', type: 'image/png' });
    expect(accept({ declaredType: 'application/pdf', head: HEADS.pdf })).toEqual({ kind: 'document', type: 'application/pdf' });
    expect(accept({ declaredType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', head: HEADS.zip }).kind).toBe(
      'document',
    );
    expect(accept({ declaredType: 'application/vnd.ms-excel', head: HEADS.ole }).kind).toBe('document');
    expect(accept({ declaredType: 'text/plain', head: HEADS.text })).toEqual({ kind: 'document', type: 'text/plain' });
    expect(accept({ declaredType: 'audio/mpeg', head: HEADS.id3 })).toEqual({ kind: 'audio', type: 'audio/mpeg' });
    expect(accept({ declaredType: 'audio/aac', head: HEADS.adts }).kind).toBe('audio');
    expect(accept({ declaredType: 'audio/amr', head: HEADS.amr }).kind).toBe('audio');
    expect(accept({ declaredType: 'audio/mp4', head: HEADS.m4a }).kind).toBe('audio');
    expect(accept({ declaredType: 'audio/ogg', head: HEADS.ogg })).toEqual({ kind: 'voice', type: 'audio/ogg' });
    expect(accept({ declaredType: 'audio/ogg', kind: 'audio', head: HEADS.ogg })).toEqual({ kind: 'audio', type: 'audio/ogg' });
    expect(accept({ declaredType: 'audio/webm;codecs=opus', head: HEADS.webm })).toEqual({ kind: 'voice', type: 'audio/webm' });
    expect(accept({ declaredType: 'video/mp4', head: HEADS.mp4 })).toEqual({ kind: 'video', type: 'video/mp4' });
    expect(accept({ declaredType: 'video/3gpp', head: HEADS.threeGp }).kind).toBe('video');
  });

  it('takes the type from the bytes when none (or a generic one) was declared', () => {
    expect(accept({ declaredType: 'application/octet-stream', head: HEADS.png })).toEqual({ kind: 'photo', type: 'image/png' });
    expect(accept({ declaredType: null, head: HEADS.webm })).toEqual({ kind: 'voice', type: 'audio/webm' });
    // Office files and text cannot be told apart by their bytes: their type must be declared.
    expect(refusal({ head: HEADS.zip })).toEqual({ code: 'validation_failed', message: expect.stringMatching(/type is unknown/) });
  });

  it('refuses bytes that are not what the declared type says', () => {
    expect(refusal({ declaredType: 'image/png', head: HEADS.jpeg }).message).toMatch(
      /bytes are not image\/png \(they look like image\/jpeg\)/,
    );
    expect(refusal({ declaredType: 'application/pdf', head: HEADS.zip }).message).toMatch(/bytes are not application\/pdf/);
    expect(refusal({ declaredType: 'text/plain', head: HEADS.png }).message).toMatch(/bytes are not text\/plain/);
    expect(refusal({ declaredType: 'text/plain', head: Buffer.from([0x41, 0x00, 0x42]) }).message).toMatch(/bytes are not text\/plain/);
    expect(refusal({ declaredType: 'audio/webm', head: HEADS.ogg }).message).toMatch(/bytes are not audio\/webm/);
    expect(refusal({ declaredType: 'audio/mpeg', head: HEADS.adts }).message).toMatch(/look like audio\/aac/);
  });

  it('refuses types a kind does not take, voice notes other than Ogg/WebM Opus included', () => {
    expect(refusal({ declaredType: 'image/gif', head: HEADS.gif })).toEqual({
      code: 'validation_failed',
      message: expect.stringMatching(/image\/gif cannot be sent as a photo; accepted: image\/jpeg, image\/png/),
    });
    expect(refusal({ declaredType: 'image/webp', head: HEADS.webp }).message).toMatch(/cannot be sent as a photo/);
    expect(refusal({ declaredType: 'audio/mpeg', kind: 'voice', head: HEADS.id3 }).message).toMatch(
      /voice note must be Ogg\/Opus or WebM\/Opus, not audio\/mpeg/,
    );
    expect(refusal({ declaredType: 'image/png', kind: 'document', head: HEADS.png }).message).toMatch(/cannot be sent as a document/);
    expect(refusal({ declaredType: 'audio/webm', kind: 'audio', head: HEADS.webm }).message).toMatch(/cannot be sent as audio/);
    expect(refusal({ declaredType: 'application/x-msdownload', head: latin('MZ') }).message).toMatch(/cannot be sent as a document/);
    expect(refusal({ declaredType: 'image/png', head: HEADS.png, size: 0 }).message).toMatch(/empty/);
  });

  it('enforces the size limit of each kind, bounded by MEDIA_MAX_BYTES', () => {
    expect(accept({ declaredType: 'image/png', head: HEADS.png, size: 5 * MB }).kind).toBe('photo');
    expect(refusal({ declaredType: 'image/png', head: HEADS.png, size: 5 * MB + 1 })).toEqual({
      code: 'payload_too_large',
      message: expect.stringMatching(/photos are limited to 5 MB/),
    });
    expect(accept({ declaredType: 'audio/webm', head: HEADS.webm, size: 16 * MB }).kind).toBe('voice');
    expect(refusal({ declaredType: 'audio/webm', head: HEADS.webm, size: 16 * MB + 1 }).message).toMatch(
      /voice notes are limited to 16 MB/,
    );
    expect(refusal({ declaredType: 'audio/mpeg', head: HEADS.id3, size: 16 * MB + 1 }).message).toMatch(/audio files are limited to 16 MB/);
    expect(refusal({ declaredType: 'video/mp4', head: HEADS.mp4, size: 16 * MB + 1 }).message).toMatch(/videos are limited to 16 MB/);
    expect(accept({ declaredType: 'application/pdf', head: HEADS.pdf, size: 100 * MB }).kind).toBe('document');
    expect(refusal({ declaredType: 'application/pdf', head: HEADS.pdf, size: 100 * MB + 1 }).code).toBe('payload_too_large');
    expect(refusal({ declaredType: 'application/pdf', head: HEADS.pdf, size: 2 * MB, mediaMaxBytes: MB }).message).toMatch(
      /documents are limited to 1 MB/,
    );
  });

  it('receives no more bytes than the declared type could be allowed', () => {
    expect(receiveLimit('image/png', null, 100 * MB)).toBe(5 * MB);
    expect(receiveLimit('audio/webm', null, 100 * MB)).toBe(16 * MB);
    expect(receiveLimit('application/pdf', null, 100 * MB)).toBe(100 * MB);
    expect(receiveLimit('application/pdf', null, 10 * MB)).toBe(10 * MB);
    expect(receiveLimit(null, null, 100 * MB)).toBe(100 * MB);
    expect(receiveLimit('image/png', 'document', 100 * MB)).toBe(100 * MB);
  });
});
