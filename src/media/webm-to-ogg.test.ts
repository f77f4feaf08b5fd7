import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_GRANULE, OGG_BOS, OGG_CONTINUED, OGG_EOS, oggCrc32, oggPackets, OggPageWriter, readOggPages } from './ogg.js';
import { opusPacketSamples, parseOpusHead } from './opus.js';
import { checkOggOpus, prepareOpusAudio } from './voice-note.js';
import { parseWebm, remuxWebmToOgg, WebmFormatError } from './webm-to-ogg.js';

/** Recorded by Chromium's MediaRecorder (see test/fixtures/media/README.md). */
const CHROMIUM_WEBM = readFileSync(new URL('../../test/fixtures/media/voice-chromium.webm', import.meta.url));
/** Written by opusenc (libopusenc), another muxer than ours (see the same README). */
const OPUSENC_OGG = readFileSync(new URL('../../test/fixtures/media/voice-opusenc.ogg', import.meta.url));

/** Ogg's CRC computed bit by bit, straight from its definition, to check the table-driven one. */
function referenceCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000_0000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

/** Checks every page's CRC with the reference implementation (independently of readOggPages). */
function assertPageCrcs(ogg: Buffer): number {
  let at = 0;
  let pages = 0;
  while (at < ogg.length) {
    expect(ogg.toString('latin1', at, at + 4)).toBe('OggS');
    const count = ogg[at + 26]!;
    const bodyLength = [...ogg.subarray(at + 27, at + 27 + count)].reduce((a, b) => a + b, 0);
    const page = Buffer.from(ogg.subarray(at, at + 27 + count + bodyLength));
    const stored = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    expect(referenceCrc(page)).toBe(stored);
    at += page.length;
    pages++;
  }
  return pages;
}

// --- a small EBML writer, to build WebM files with the features a recorder may use -------------

function vintSize(n: number): Buffer {
  for (let width = 1; width <= 8; width++) {
    if (n < 2 ** (7 * width) - 1) {
      const b = Buffer.alloc(width);
      let v = n;
      for (let i = width - 1; i >= 0; i--) {
        b[i] = v % 256;
        v = Math.floor(v / 256);
      }
      b[0]! |= 0x80 >> (width - 1);
      return b;
    }
  }
  throw new Error('too large');
}
const UNKNOWN = Buffer.from('01ffffffffffffff', 'hex');
function idBytes(id: number): Buffer {
  const hex = id.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}
function el(id: number, ...children: (Buffer | string | number)[]): Buffer {
  const body = Buffer.concat(children.map((c) => (typeof c === 'string' ? Buffer.from(c, 'latin1') : typeof c === 'number' ? uint(c) : c)));
  return Buffer.concat([idBytes(id), vintSize(body.length), body]);
}
function unknownSize(id: number, ...children: Buffer[]): Buffer {
  return Buffer.concat([idBytes(id), UNKNOWN, ...children]);
}
function uint(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}
function opusHead(channels: number, preSkip: number): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(48000, 12);
  return b;
}
/** An Opus packet: TOC config 31 (CELT 20 ms, 960 samples), code 0, then `length - 1` bytes. */
function packet(length: number, fill: number): Buffer {
  const b = Buffer.alloc(length, fill);
  b[0] = (31 << 3) | 0;
  return b;
}
function webm(options: { channels?: number; codec?: string; head?: Buffer | null; clusters: Buffer[] }): Buffer {
  const entry = el(
    0xae,
    el(0xd7, 1),
    el(0x83, 2),
    el(0x86, options.codec ?? 'A_OPUS'),
    ...(options.head === null ? [] : [el(0x63a2, options.head ?? opusHead(options.channels ?? 1, 312))]),
    el(0x56aa, 6_500_000),
    el(0xe1, el(0x9f, options.channels ?? 1)),
  );
  return Buffer.concat([
    el(0x1a45dfa3, el(0x4286, 1), el(0x4282, 'webm')),
    unknownSize(0x18538067, el(0x1549a966, el(0x2ad7b1, 1_000_000)), el(0x1654ae6b, entry), ...options.clusters),
  ]);
}
function simpleBlock(offset: number, frame: Buffer): Buffer {
  return el(0xa3, Buffer.from([0x81]), int16(offset), Buffer.from([0x80]), frame);
}

describe('Ogg pages', () => {
  it('computes the Ogg CRC32 (poly 0x04c11db7, unreflected) like its definition', () => {
    for (const input of [Buffer.alloc(0), Buffer.from('OggS'), Buffer.from('123456789'), CHROMIUM_WEBM.subarray(0, 1000)]) {
      expect(oggCrc32(input)).toBe(referenceCrc(input));
    }
    // The check value of CRC-32/MPEG-2's sibling with init 0 and no xor (CRC-32/CKSUM without length).
    expect(oggCrc32(Buffer.from('123456789'))).toBe(0x89a1897f);
  });

  it('laces a packet over 255 segments across pages: continued flag, granule -1 where no packet ends', () => {
    const writer = new OggPageWriter(7);
    const big = Buffer.alloc(255 * 255 + 1000, 0xab);
    writer.writePacket(Buffer.from('first'), 10n);
    writer.writePacket(big, 20n);
    writer.writePacket(Buffer.alloc(510, 1), 30n); // a multiple of 255 ends with a 0 lacing value
    const ogg = writer.finish();
    const pages = readOggPages(ogg);
    expect(pages.map((p) => p.sequence)).toEqual([0, 1]);
    expect(pages[0]!.flags).toBe(OGG_BOS);
    expect(pages[0]!.granule).toBe(10n); // 'first' ends on page 0, the big one does not
    expect(pages[1]!.flags).toBe(OGG_CONTINUED | OGG_EOS);
    expect(pages[1]!.granule).toBe(30n);
    expect(pages[1]!.segments.at(-1)).toBe(0);
    const packets = oggPackets(pages).map((p) => p.packet);
    expect(packets).toEqual([Buffer.from('first'), big, Buffer.alloc(510, 1)]);

    const spanning = new OggPageWriter(8);
    spanning.writePacket(Buffer.alloc(255 * 255 * 2, 3), 5n);
    // 510 full segments and a closing 0: two pages on which the packet does not end, then its end.
    const spanned = spanning.finish();
    const three = readOggPages(spanned);
    expect(three.map((p) => p.granule)).toEqual([NO_GRANULE, NO_GRANULE, 5n]);
    expect(three.map((p) => p.flags)).toEqual([OGG_BOS, OGG_CONTINUED, OGG_CONTINUED | OGG_EOS]);
    expect(assertPageCrcs(spanned)).toBe(3);
  });

  it('refuses a page whose CRC does not match', () => {
    const writer = new OggPageWriter(1);
    writer.writePacket(Buffer.from('hello'), 0n);
    const ogg = writer.finish();
    ogg[ogg.length - 1] = ogg[ogg.length - 1]! ^ 0xff;
    expect(() => readOggPages(ogg)).toThrow(/CRC/);
  });
});

describe('WebM/Opus → Ogg/Opus remux', () => {
  it('parses the Chromium recording: one Opus track, unknown-size segment and clusters, frames with timecodes', () => {
    const file = parseWebm(CHROMIUM_WEBM);
    expect(file.docType).toBe('webm');
    expect(file.tracks).toHaveLength(1);
    expect(file.tracks[0]).toMatchObject({ codecId: 'A_OPUS', type: 2, channels: 1 });
    expect(parseOpusHead(file.tracks[0]!.codecPrivate!)).toMatchObject({ channels: 1 });
    expect(file.frames.length).toBeGreaterThan(30); // about 2.5 s of 60 ms packets
    const times = file.frames.map((f) => f.timestampNs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('writes a valid Ogg/Opus stream carrying exactly the WebM frames', () => {
    const file = parseWebm(CHROMIUM_WEBM);
    const { ogg, packets, finalGranule, head } = remuxWebmToOgg(CHROMIUM_WEBM);
    expect(ogg.toString('latin1', 0, 4)).toBe('OggS');
    const pageCount = assertPageCrcs(ogg);
    const pages = readOggPages(ogg);
    expect(pages).toHaveLength(pageCount);
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    expect(new Set(pages.map((p) => p.serial)).size).toBe(1);
    expect(pages.map((p) => p.flags & OGG_BOS)).toEqual(pages.map((_, i) => (i === 0 ? OGG_BOS : 0)));
    expect(pages.map((p) => p.flags & OGG_EOS)).toEqual(pages.map((_, i) => (i === pages.length - 1 ? OGG_EOS : 0)));

    const out = oggPackets(pages);
    // OpusHead alone on the first page, OpusTags alone on the second, audio from the third.
    expect(out[0]!.packet).toEqual(file.tracks[0]!.codecPrivate);
    expect(out[0]!.page).toBe(0);
    expect(out[1]!.packet.toString('latin1', 0, 8)).toBe('OpusTags');
    expect(out[1]!.page).toBe(1);
    expect(pages[0]!.granule).toBe(0n);
    expect(pages[1]!.granule).toBe(0n);
    const audio = out.slice(2);
    expect(audio[0]!.page).toBe(2);
    expect(audio).toHaveLength(file.frames.length);
    expect(packets).toBe(file.frames.length);
    audio.forEach((p, i) => expect(p.packet.equals(file.frames[i]!.data)).toBe(true));

    // Granule = samples decoded up to the page's last packet (pre-skip included), strictly increasing.
    const samples = file.frames.map((f) => opusPacketSamples(f.data)!);
    const granules = pages.slice(2).map((p) => p.granule);
    for (let i = 1; i < granules.length; i++) expect(granules[i]! > granules[i - 1]!).toBe(true);
    let expected = 0;
    const lastOnPage = new Map<number, number>();
    audio.forEach((p, i) => lastOnPage.set(p.page, i));
    for (const [page, last] of lastOnPage) {
      expected = samples.slice(0, last + 1).reduce((a, b) => a + b, 0);
      expect(pages[page]!.granule).toBe(BigInt(expected));
    }
    expect(finalGranule).toBe(pages.at(-1)!.granule);
    // The timecodes agree with the packet durations (to within a packet): 48 samples per ms.
    const lastFrame = file.frames.at(-1)!;
    const endByTimecode = (lastFrame.timestampNs / 1e6) * 48 + samples.at(-1)!;
    expect(Math.abs(Number(finalGranule) - endByTimecode)).toBeLessThanOrEqual(960);
    expect(head.channels).toBe(1);

    expect(checkOggOpus(ogg).channels).toBe(1);
    // Deterministic: the same input gives the same bytes.
    expect(remuxWebmToOgg(CHROMIUM_WEBM).ogg.equals(ogg)).toBe(true);
  });

  it('passes an external Ogg/Opus checker (opusinfo; required in CI, which installs opus-tools)', () => {
    if (!existsSync('/usr/bin/opusinfo')) {
      // Outside CI the check is optional; in CI a missing tool fails rather than skipping silently.
      if (process.env.CI) throw new Error('opusinfo not found: .ci/run installs the Debian package opus-tools');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'sb-opus-'));
    try {
      const path = join(dir, 'voice.ogg');
      writeFileSync(path, remuxWebmToOgg(CHROMIUM_WEBM).ogg);
      // opusinfo exits 1 on warnings; the one expected is Chromium's own pre-skip of 0, kept as recorded.
      const run = spawnSync('/usr/bin/opusinfo', [path], { encoding: 'utf8' });
      const report = `${run.stdout}${run.stderr}`;
      expect(report).toMatch(/New logical stream \(#1, serial: [0-9a-f]+\): type opus/);
      expect(report).toMatch(/Channels: 1/);
      expect(report).toMatch(/Playback length: 0m:02\.\d+s/);
      expect(report).not.toMatch(/ERROR|corrupt|hole in data|granulepos/i);
      expect(report.split('\n').filter((l) => /WARNING/.test(l))).toEqual(['WARNING: Implausibly low preskip in Opus stream (1)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads Xiph and EBML lacing, BlockGroups with DiscardPadding, and uses CodecDelay when there is no OpusHead', () => {
    const frames = [packet(120, 1), packet(300, 2), packet(90, 3), packet(700, 4), packet(50, 5), packet(60, 6), packet(40, 7)];
    const xiph = el(0xa3, Buffer.from([0x81]), int16(0), Buffer.from([0x82, 2, 120, 255, 45]), frames[0]!, frames[1]!, frames[2]!);
    // EBML lacing: 2 frames coded, first size 700 as a vint, the last takes the rest.
    const ebml = el(0xa3, Buffer.from([0x81]), int16(60), Buffer.from([0x86, 1]), vintSize(700), frames[3]!, frames[4]!);
    const group = el(0xa0, el(0xa1, Buffer.from([0x81]), int16(100), Buffer.from([0x00]), frames[5]!));
    const last = el(0xa0, el(0xa1, Buffer.from([0x81]), int16(0), Buffer.from([0x00]), frames[6]!), el(0x75a2, uint(10_000_000)));
    const file = webm({
      head: null,
      clusters: [unknownSize(0x1f43b675, el(0xe7, 0), xiph, ebml, group), unknownSize(0x1f43b675, el(0xe7, 140), last)],
    });

    const parsed = parseWebm(file);
    expect(parsed.frames.map((f) => f.data)).toEqual(frames);
    expect(parsed.frames.map((f) => f.timestampNs / 1e6)).toEqual([0, 0, 0, 60, 60, 100, 140]);
    expect(parsed.frames.at(-1)!.discardPaddingNs).toBe(10_000_000);

    const { ogg, head, finalGranule } = remuxWebmToOgg(file);
    expect(head.preSkip).toBe(312); // 6.5 ms CodecDelay at 48 kHz
    const pages = readOggPages(ogg);
    const out = oggPackets(pages)
      .slice(2)
      .map((p) => p.packet);
    expect(out).toEqual(frames);
    // 7 packets × 960 samples, minus 10 ms (480 samples) of end padding.
    expect(finalGranule).toBe(BigInt(7 * 960 - 480));
    expect(pages.at(-1)!.granule).toBe(finalGranule);
  });

  it('splits long recordings into pages of about a second', () => {
    const blocks = Array.from({ length: 300 }, (_, i) => simpleBlock(i * 20, packet(80, i % 250)));
    const { ogg } = remuxWebmToOgg(webm({ clusters: [el(0x1f43b675, el(0xe7, 0), ...blocks)] }));
    const pages = readOggPages(ogg);
    // 300 × 20 ms = 6 s → 6 audio pages of 50 packets after the two header pages.
    expect(pages).toHaveLength(8);
    expect(pages.slice(2).map((p) => p.granule)).toEqual([1, 2, 3, 4, 5, 6].map((s) => BigInt(s * 48000)));
  });

  it('refuses what it cannot remux, with the reason', () => {
    expect(() => remuxWebmToOgg(Buffer.from('not a webm file'))).toThrow(WebmFormatError);
    expect(() =>
      remuxWebmToOgg(webm({ codec: 'A_VORBIS', clusters: [el(0x1f43b675, el(0xe7, 0), simpleBlock(0, packet(20, 1)))] })),
    ).toThrow(/no Opus audio track/);
    expect(() => remuxWebmToOgg(webm({ clusters: [] }))).toThrow(/holds no audio/);
    const cut = CHROMIUM_WEBM.subarray(0, CHROMIUM_WEBM.length - 7);
    expect(() => remuxWebmToOgg(cut)).toThrow(/runs past the end/);
  });

  it('reads an Ogg/Opus file of another muxer (opusenc): OpusHead, OpusTags, audio, and refuses it damaged', () => {
    const head = checkOggOpus(OPUSENC_OGG);
    expect(head).toMatchObject({ channels: 1, preSkip: 312, mappingFamily: 0 });
    const pages = readOggPages(OPUSENC_OGG);
    expect(pages[0]!.flags & OGG_BOS).toBe(OGG_BOS);
    expect(pages.at(-1)!.flags & OGG_EOS).toBe(OGG_EOS);
    const packets = oggPackets(pages);
    expect(packets[1]!.packet.toString('latin1')).toContain('title=fixture');
    // 2 s of audio: the final granule is pre-skip + 96 000 samples (opusenc trims the end exactly).
    expect(pages.at(-1)!.granule).toBe(312n + 96_000n);
    expect(packets.slice(2).every((p) => opusPacketSamples(p.packet) !== null)).toBe(true);
    expect(prepareOpusAudio(OPUSENC_OGG, 'audio/ogg').bytes).toBe(OPUSENC_OGG);
    const damaged = Buffer.from(OPUSENC_OGG);
    damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0x55;
    expect(() => prepareOpusAudio(damaged, 'audio/ogg')).toThrow(/not usable Opus audio.*CRC/);
  });

  it('accepts mono Opus only, and checks Ogg uploads without changing them', () => {
    const stereo = webm({ channels: 2, clusters: [el(0x1f43b675, el(0xe7, 0), simpleBlock(0, packet(20, 1)))] });
    expect(() => prepareOpusAudio(stereo, 'audio/webm')).toThrow(/mono/);
    const ogg = remuxWebmToOgg(CHROMIUM_WEBM).ogg;
    const kept = prepareOpusAudio(ogg, 'audio/ogg');
    expect(kept.bytes).toBe(ogg);
    expect(kept.remuxed).toBe(false);
    const converted = prepareOpusAudio(CHROMIUM_WEBM, 'audio/webm');
    expect(converted.bytes.equals(ogg)).toBe(true);
    // An Ogg stream that is not Opus (a Vorbis-like first packet) is refused.
    const vorbis = new OggPageWriter(3);
    vorbis.writePacket(Buffer.from('\x01vorbis-header-bytes', 'latin1'), 0n);
    vorbis.flush();
    vorbis.writePacket(Buffer.from('audio'), 100n);
    expect(() => prepareOpusAudio(vorbis.finish(), 'audio/ogg')).toThrow(/not usable Opus audio.*OpusHead/);
  });
});
