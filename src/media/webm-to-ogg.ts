/**
 * WebM/Opus → Ogg/Opus without re-encoding: the Opus packets of a browser's MediaRecorder file are
 * taken out of the Matroska container and written as Ogg pages (RFC 7845), so WhatsApp shows them
 * as a voice note. Linear in the input, which callers bound (a voice note is at most 16 MB).
 */
import { OggPageWriter, oggCrc32 } from './ogg.js';
import { buildOpusHead, buildOpusTags, OPUS_RATE, opusPacketSamples, parseOpusHead, type OpusHead } from './opus.js';

export class WebmFormatError extends Error {
  override readonly name = 'WebmFormatError';
}

/** Matroska element ids we read (with their length marker, as the spec writes them). */
const ID = {
  ebml: 0x1a45dfa3,
  docType: 0x4282,
  segment: 0x18538067,
  info: 0x1549a966,
  timecodeScale: 0x2ad7b1,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  codecDelay: 0x56aa,
  contentEncodings: 0x6d80,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  cluster: 0x1f43b675,
  timecode: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  discardPadding: 0x75a2,
} as const;

/** Containers whose children we read; only Segment and Cluster may have an unknown size (live recording). */
const MASTERS = new Set<number>([ID.ebml, ID.segment, ID.info, ID.tracks, ID.trackEntry, ID.audio, ID.cluster, ID.blockGroup]);
const UNKNOWN_SIZE_ALLOWED = new Set<number>([ID.segment, ID.cluster]);

const TRACK_TYPE_AUDIO = 2;

export interface WebmTrack {
  number: number;
  type: number | null;
  codecId: string | null;
  codecPrivate: Buffer | null;
  /** Nanoseconds (Matroska CodecDelay); for Opus the pre-skip. */
  codecDelay: number | null;
  channels: number | null;
  samplingFrequency: number | null;
  hasContentEncoding: boolean;
}

export interface WebmFrame {
  track: number;
  /** In nanoseconds from the segment's start (cluster timecode + block offset, times TimecodeScale). */
  timestampNs: number;
  data: Buffer;
  /** Nanoseconds to drop from the end of this frame's decoded audio (BlockGroup DiscardPadding). */
  discardPaddingNs: number;
}

export interface WebmFile {
  docType: string;
  tracks: WebmTrack[];
  frames: WebmFrame[];
}

/** Reads an EBML variable-length integer at `at`: its width and value (marker bit kept for ids). */
function readVint(bytes: Buffer, at: number, keepMarker: boolean): { width: number; value: number; allOnes: boolean } {
  const first = bytes[at];
  if (first === undefined) throw new WebmFormatError(`the file ends inside an element header at byte ${at}`);
  let width = 1;
  while (width <= 8 && !(first & (0x80 >> (width - 1)))) width++;
  if (width > 8) throw new WebmFormatError(`invalid EBML number at byte ${at}`);
  if (at + width > bytes.length) throw new WebmFormatError(`the file ends inside an element header at byte ${at}`);
  let value = keepMarker ? first : first & (0xff >> width);
  let allOnes = value === 0xff >> width;
  for (let i = 1; i < width; i++) {
    const b = bytes[at + i]!;
    value = value * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  return { width, value, allOnes };
}

function readUint(data: Buffer): number {
  if (data.length > 7) throw new WebmFormatError('integer element wider than 7 bytes');
  let value = 0;
  for (const b of data) value = value * 256 + b;
  return value;
}

function readSigned(data: Buffer): number {
  if (data.length === 0) return 0;
  if (data.length > 6) throw new WebmFormatError('signed integer element wider than 6 bytes');
  return data.readIntBE(0, data.length);
}

function readFloat(data: Buffer): number {
  if (data.length === 4) return data.readFloatBE(0);
  if (data.length === 8) return data.readDoubleBE(0);
  if (data.length === 0) return 0;
  throw new WebmFormatError('float element of an invalid width');
}

/** The frames of a Block/SimpleBlock payload, split by its lacing (Matroska §10.4). */
function blockFrames(data: Buffer): { track: number; offset: number; frames: Buffer[] } {
  const track = readVint(data, 0, false);
  let at = track.width;
  if (at + 3 > data.length) throw new WebmFormatError('block shorter than its header');
  const offset = data.readInt16BE(at);
  const flags = data[at + 2]!;
  at += 3;
  const lacing = (flags >> 1) & 0x03;
  if (lacing === 0) return { track: track.value, offset, frames: [data.subarray(at)] };

  const count = data[at]! + 1;
  at += 1;
  const sizes: number[] = [];
  if (lacing === 1) {
    // Xiph
    for (let i = 0; i < count - 1; i++) {
      let size = 0;
      for (;;) {
        const b = data[at++];
        if (b === undefined) throw new WebmFormatError('block lacing runs past the block');
        size += b;
        if (b < 255) break;
      }
      sizes.push(size);
    }
  } else if (lacing === 3) {
    // EBML
    const first = readVint(data, at, false);
    at += first.width;
    sizes.push(first.value);
    for (let i = 1; i < count - 1; i++) {
      const delta = readVint(data, at, false);
      at += delta.width;
      const bias = 2 ** (7 * delta.width - 1) - 1;
      sizes.push(sizes[i - 1]! + delta.value - bias);
    }
  } else {
    // fixed size
    const size = (data.length - at) / count;
    if (!Number.isInteger(size)) throw new WebmFormatError('fixed-size lacing that does not divide the block');
    for (let i = 0; i < count - 1; i++) sizes.push(size);
  }
  const frames: Buffer[] = [];
  for (const size of sizes) {
    if (size < 0 || at + size > data.length) throw new WebmFormatError('block lacing runs past the block');
    frames.push(data.subarray(at, at + size));
    at += size;
  }
  frames.push(data.subarray(at));
  return { track: track.value, offset, frames };
}

/**
 * Parses the parts of a WebM/Matroska file that carry audio: the EBML header's DocType, the track
 * entries, and every block's frames with their timestamps. Elements of unknown size (a live
 * recording's Segment and Clusters) end where the next element of their level begins, so the walk is
 * flat: containers are entered, everything else is read or skipped by its size.
 */
export function parseWebm(bytes: Buffer): WebmFile {
  if (bytes.length < 4 || bytes.readUInt32BE(0) !== ID.ebml) throw new WebmFormatError('not an EBML file');
  let docType: string | null = null;
  let timecodeScale = 1_000_000;
  let clusterTimecode: number | null = null;
  const tracks: WebmTrack[] = [];
  const raw: { data: Buffer; cluster: number; discardPadding: number }[] = [];
  let group: { block: Buffer | null; discardPadding: number; end: number } | null = null;

  const closeGroup = () => {
    if (group?.block) raw.push({ data: group.block, cluster: clusterTimecode ?? 0, discardPadding: group.discardPadding });
    group = null;
  };

  let at = 0;
  while (at < bytes.length) {
    if (group && at >= group.end) closeGroup();
    const id = readVint(bytes, at, true);
    const size = readVint(bytes, at + id.width, false);
    const start = at + id.width + size.width;
    if (size.allOnes && !UNKNOWN_SIZE_ALLOWED.has(id.value))
      throw new WebmFormatError(`element 0x${id.value.toString(16)} of unknown size`);
    const end = size.allOnes ? bytes.length : start + size.value;
    if (MASTERS.has(id.value)) {
      if (end > bytes.length) throw new WebmFormatError(`element 0x${id.value.toString(16)} runs past the end of the file`);
      if (id.value === ID.trackEntry)
        tracks.push({
          number: 0,
          type: null,
          codecId: null,
          codecPrivate: null,
          codecDelay: null,
          channels: null,
          samplingFrequency: null,
          hasContentEncoding: false,
        });
      if (id.value === ID.cluster) {
        closeGroup();
        clusterTimecode = null;
      }
      if (id.value === ID.blockGroup) {
        closeGroup();
        group = { block: null, discardPadding: 0, end };
      }
      at = start;
      continue;
    }
    if (end > bytes.length)
      throw new WebmFormatError(`element 0x${id.value.toString(16)} at byte ${at} runs past the end of the file (truncated recording?)`);
    const data = bytes.subarray(start, end);
    const track = tracks.at(-1);
    switch (id.value) {
      case ID.docType:
        docType = data.toString('latin1').replace(/\0+$/, '');
        break;
      case ID.timecodeScale:
        timecodeScale = readUint(data);
        break;
      case ID.trackNumber:
        if (track) track.number = readUint(data);
        break;
      case ID.trackType:
        if (track) track.type = readUint(data);
        break;
      case ID.codecId:
        if (track) track.codecId = data.toString('latin1').replace(/\0+$/, '');
        break;
      case ID.codecPrivate:
        if (track) track.codecPrivate = Buffer.from(data);
        break;
      case ID.codecDelay:
        if (track) track.codecDelay = readUint(data);
        break;
      case ID.contentEncodings:
        if (track) track.hasContentEncoding = true;
        break;
      case ID.channels:
        if (track) track.channels = readUint(data);
        break;
      case ID.samplingFrequency:
        if (track) track.samplingFrequency = readFloat(data);
        break;
      case ID.timecode:
        clusterTimecode = readUint(data);
        break;
      case ID.simpleBlock:
        closeGroup();
        raw.push({ data, cluster: clusterTimecode ?? 0, discardPadding: 0 });
        break;
      case ID.block:
        if (group) group.block = data;
        break;
      case ID.discardPadding:
        if (group) group.discardPadding = readSigned(data);
        break;
      default:
        break; // SeekHead, Cues, Tags, Void, CRC-32 …: not needed to carry the audio
    }
    at = end;
  }
  closeGroup();
  if (docType !== 'webm' && docType !== 'matroska')
    throw new WebmFormatError(`EBML DocType ${JSON.stringify(docType)} is not webm or matroska`);

  const frames: WebmFrame[] = [];
  for (const block of raw) {
    const { track, offset, frames: parts } = blockFrames(block.data);
    const timestampNs = (block.cluster + offset) * timecodeScale;
    parts.forEach((data, i) =>
      frames.push({ track, timestampNs, data, discardPaddingNs: i === parts.length - 1 ? block.discardPadding : 0 }),
    );
  }
  return { docType, tracks, frames };
}

export interface RemuxResult {
  ogg: Buffer;
  head: OpusHead;
  /** Opus packets carried over (the WebM's frames of the Opus track). */
  packets: number;
  /** The last page's granule position: decoded samples at 48 kHz, pre-skip included, end trimming applied. */
  finalGranule: bigint;
}

/** The vendor string written into OpusTags. */
export const REMUX_VENDOR = 'Switchboard WebM remux';

/** Pages hold about a second of audio, as common Opus muxers do, so players can seek by page. */
const PAGE_SAMPLES = OPUS_RATE;

/**
 * Remuxes the first Opus audio track of a WebM file into an Ogg/Opus stream: OpusHead (the track's
 * CodecPrivate) alone on the BOS page, OpusTags on the second, then the packets in order with granule
 * positions counted from each packet's TOC (so pre-skip, which the first packets decode, is
 * included), DiscardPadding of the last block trimmed from the final granule, EOS on the last page.
 * The Ogg serial number is derived from the input, so one file always remuxes to the same bytes.
 * Throws WebmFormatError when the file is not WebM/Opus or is damaged.
 */
export function remuxWebmToOgg(bytes: Buffer): RemuxResult {
  const file = parseWebm(bytes);
  const track = file.tracks.find((t) => t.codecId === 'A_OPUS' && (t.type === null || t.type === TRACK_TYPE_AUDIO));
  if (!track) throw new WebmFormatError('the WebM file has no Opus audio track');
  if (track.hasContentEncoding) throw new WebmFormatError('the Opus track is compressed or encrypted (ContentEncodings)');

  let headBytes = track.codecPrivate;
  let head = headBytes ? parseOpusHead(headBytes) : null;
  if (!head) {
    if (headBytes && headBytes.length > 0) throw new WebmFormatError("the Opus track's CodecPrivate is not an OpusHead");
    const channels = track.channels ?? 1;
    if (channels < 1 || channels > 2) throw new WebmFormatError(`an Opus track of ${channels} channels needs an OpusHead`);
    const preSkip = Math.round(((track.codecDelay ?? 0) * OPUS_RATE) / 1e9);
    headBytes = buildOpusHead(channels, preSkip, Math.round(track.samplingFrequency ?? OPUS_RATE));
    head = parseOpusHead(headBytes)!;
  }

  const frames = file.frames.filter((f) => f.track === track.number);
  if (frames.length === 0) throw new WebmFormatError('the Opus track holds no audio');

  const writer = new OggPageWriter(oggCrc32(bytes));
  writer.writePacket(headBytes!, 0n);
  writer.flush();
  writer.writePacket(buildOpusTags(REMUX_VENDOR), 0n);
  writer.flush();

  let granule = 0n;
  let pageSamples = 0;
  frames.forEach((frame, i) => {
    const samples = opusPacketSamples(frame.data);
    if (samples === null) throw new WebmFormatError(`frame ${i} is not an Opus packet`);
    granule += BigInt(samples);
    const isLast = i === frames.length - 1;
    let packetGranule = granule;
    if (isLast && frame.discardPaddingNs > 0) {
      const trim = BigInt(Math.round((frame.discardPaddingNs * OPUS_RATE) / 1e9));
      packetGranule = granule - trim > 0n ? granule - trim : 0n;
    }
    writer.writePacket(frame.data, packetGranule);
    pageSamples += samples;
    if (!isLast && pageSamples >= PAGE_SAMPLES) {
      writer.flush();
      pageSamples = 0;
    }
    if (isLast) granule = packetGranule;
  });
  return { ogg: writer.finish(), head, packets: frames.length, finalGranule: granule };
}
