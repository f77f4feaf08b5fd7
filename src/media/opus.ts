/** Opus packet and header facts needed to carry Opus in Ogg (RFC 6716 §3.1, RFC 7845 §5). */

/** Opus in Ogg always counts time in 48 kHz samples, whatever the input rate was. */
export const OPUS_RATE = 48_000;

/** Samples (at 48 kHz) of one frame, by the TOC byte's configuration number (RFC 6716 §3.1, table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT: 2.5, 5, 10, 20 ms
}

/** The 48 kHz samples one Opus packet decodes to, from its TOC byte (and frame count byte); null when malformed. */
export function opusPacketSamples(packet: Uint8Array): number | null {
  if (packet.length < 1) return null;
  const toc = packet[0]!;
  const perFrame = frameSamples(toc >> 3);
  const code = toc & 0x03;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    if (packet.length < 2) return null;
    frames = packet[1]! & 0x3f;
    if (frames === 0) return null;
  }
  const samples = frames * perFrame;
  // A packet holds at most 120 ms of audio (RFC 6716 §3.2.5).
  return samples > 5760 ? null : samples;
}

export interface OpusHead {
  version: number;
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  outputGain: number;
  mappingFamily: number;
}

/** Parses an OpusHead packet (RFC 7845 §5.1); null when it is not one. */
export function parseOpusHead(packet: Uint8Array): OpusHead | null {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 19 || b.toString('latin1', 0, 8) !== 'OpusHead') return null;
  const version = b[8]!;
  // Major version 0 is the one defined; minor versions stay compatible.
  if (version >> 4 !== 0) return null;
  const head = {
    version,
    channels: b[9]!,
    preSkip: b.readUInt16LE(10),
    inputSampleRate: b.readUInt32LE(12),
    outputGain: b.readInt16LE(16),
    mappingFamily: b[18]!,
  };
  if (head.channels === 0) return null;
  if (head.mappingFamily === 0 && head.channels > 2) return null;
  if (head.mappingFamily !== 0 && b.length < 21 + head.channels) return null;
  return head;
}

/** A minimal OpusHead for mono/stereo (mapping family 0), when the container gave none. */
export function buildOpusHead(channels: number, preSkip: number, inputSampleRate: number): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(inputSampleRate, 12);
  b.writeInt16LE(0, 16);
  b[18] = 0;
  return b;
}

/** An OpusTags packet (RFC 7845 §5.2) naming the writer, without user comments. */
export function buildOpusTags(vendor: string): Buffer {
  const vendorBytes = Buffer.from(vendor, 'utf8');
  const b = Buffer.alloc(8 + 4 + vendorBytes.length + 4);
  b.write('OpusTags', 0, 'latin1');
  b.writeUInt32LE(vendorBytes.length, 8);
  vendorBytes.copy(b, 12);
  b.writeUInt32LE(0, 12 + vendorBytes.length);
  return b;
}

/** Whether a packet is a well-formed OpusTags header (vendor string and comment list inside its bounds). */
export function isOpusTags(packet: Uint8Array): boolean {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 16 || b.toString('latin1', 0, 8) !== 'OpusTags') return false;
  let at = 12 + b.readUInt32LE(8);
  if (at + 4 > b.length) return false;
  const count = b.readUInt32LE(at);
  at += 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > b.length) return false;
    at += 4 + b.readUInt32LE(at);
    if (at > b.length) return false;
  }
  return true;
}
