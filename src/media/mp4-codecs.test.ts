import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Mp4FormatError, mp4Tracks, whatsAppMp4Problem } from './mp4-codecs.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/media/${name}`, import.meta.url));
const H264 = fixture('video-chromium.mp4');
const H264_OPUS = fixture('video-opus-chromium.mp4');

function box(type: string, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}
const hdlr = (handler: string) => box('hdlr', Buffer.alloc(8), Buffer.from(handler, 'latin1'), Buffer.alloc(12), Buffer.from('name\0'));
const stsd = (codec: string) => box('stsd', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), box(codec, Buffer.alloc(70)));
const trak = (handler: string, codec: string) =>
  box('trak', box('tkhd', Buffer.alloc(84)), box('mdia', hdlr(handler), box('minf', box('stbl', stsd(codec)))));
const ftyp = box('ftyp', Buffer.from('isom\0\0\0\0isomavc1', 'latin1'));
const mp4 = (...tracks: Buffer[]) =>
  Buffer.concat([ftyp, box('mdat', Buffer.alloc(100)), box('moov', box('mvhd', Buffer.alloc(100)), ...tracks)]);

describe('MP4 codecs (REFERENCE §1.12: video is H.264 with AAC)', () => {
  it('reads the tracks of Chromium recordings', () => {
    expect(mp4Tracks(H264)).toEqual([{ handler: 'vide', codec: 'avc1' }]);
    expect(mp4Tracks(H264_OPUS)).toEqual([
      { handler: 'vide', codec: 'avc1' },
      { handler: 'soun', codec: 'Opus' },
    ]);
    expect(whatsAppMp4Problem(H264, 'video')).toBeNull();
    expect(whatsAppMp4Problem(H264_OPUS, 'video')).toMatch(/audio is Opus; WhatsApp takes AAC/);
  });

  it('accepts H.264 with AAC, moov after mdat; refuses other codecs and files without the tracks asked for', () => {
    expect(whatsAppMp4Problem(mp4(trak('vide', 'avc1'), trak('soun', 'mp4a')), 'video')).toBeNull();
    expect(whatsAppMp4Problem(mp4(trak('vide', 'hvc1')), 'video')).toMatch(/video is hvc1; WhatsApp takes H.264/);
    expect(whatsAppMp4Problem(mp4(trak('soun', 'mp4a')), 'video')).toMatch(/no video track/);
    expect(whatsAppMp4Problem(mp4(trak('soun', 'mp4a')), 'audio')).toBeNull();
    expect(whatsAppMp4Problem(mp4(trak('soun', 'ac-3')), 'audio')).toMatch(/audio is ac-3/);
    expect(whatsAppMp4Problem(mp4(trak('vide', 'avc1')), 'audio')).toMatch(/no audio track/);
    expect(whatsAppMp4Problem(Buffer.concat([ftyp, box('mdat', Buffer.alloc(10))]), 'video')).toMatch(/no moov/);
  });

  it('reads 64-bit box sizes and refuses boxes that run past their container', () => {
    const large = Buffer.alloc(16);
    large.writeUInt32BE(1);
    large.write('free', 4, 'latin1');
    large.writeBigUInt64BE(16n + 4n, 8);
    const withLarge = Buffer.concat([ftyp, large, Buffer.alloc(4), box('moov', trak('vide', 'avc1'))]);
    expect(mp4Tracks(withLarge)).toEqual([{ handler: 'vide', codec: 'avc1' }]);
    expect(() => mp4Tracks(H264.subarray(0, H264.length - 10))).toThrow(Mp4FormatError);
  });
});
