/**
 * The Ogg container (RFC 3533): pages with a capture pattern, lacing values and a CRC32. Writing
 * for the WebM → Ogg/Opus remux, reading to check Ogg/Opus uploads and the remux's own output.
 */

/** Page header flags (RFC 3533 §6). */
export const OGG_CONTINUED = 0x01;
export const OGG_BOS = 0x02;
export const OGG_EOS = 0x04;

/** A page on which no packet ends carries this granule position (−1). */
export const NO_GRANULE = 0xffff_ffff_ffff_ffffn;

const MAX_SEGMENTS = 255;
const HEADER_SIZE = 27;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x8000_0000 ? (r << 1) ^ 0x04c1_1db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC32: polynomial 0x04c11db7, initial value 0, no reflection, no final xor. */
export function oggCrc32(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  return crc;
}

/**
 * Writes one logical stream as pages. Packets are laced in 255-byte segments; a packet that does not
 * fit the page's 255 segments continues on the next page (flag `continued`, granule −1 on a page where
 * no packet ends). `flush` closes the current page, so the next packet starts a fresh one.
 */
export class OggPageWriter {
  private readonly pages: Buffer[] = [];
  private segments: number[] = [];
  private body: Buffer[] = [];
  private granule = NO_GRANULE;
  private sequence = 0;
  private startsContinued = false;
  private isFirstPage = true;

  constructor(private readonly serial: number) {}

  /** Appends one packet; `granule` is the stream's position once this packet is decoded. */
  writePacket(packet: Uint8Array, granule: bigint): void {
    let offset = 0;
    for (;;) {
      if (this.segments.length === MAX_SEGMENTS) this.emit(false, true);
      const length = Math.min(255, packet.length - offset);
      this.segments.push(length);
      this.body.push(Buffer.from(packet.buffer, packet.byteOffset + offset, length));
      offset += length;
      // A lacing value below 255 ends the packet (a multiple of 255 ends with a 0).
      if (length < 255) break;
    }
    this.granule = granule;
  }

  /** Segments on the page being filled (to decide when to flush). */
  get pendingSegments(): number {
    return this.segments.length;
  }

  flush(): void {
    if (this.segments.length > 0) this.emit(false, false);
  }

  /** Closes the stream: the last page carries the EOS flag. Returns every page written. */
  finish(): Buffer {
    if (this.segments.length === 0) throw new Error('an Ogg stream needs at least one packet on its last page');
    this.emit(true, false);
    return Buffer.concat(this.pages);
  }

  private emit(isLast: boolean, packetContinues: boolean): void {
    const flags = (this.startsContinued ? OGG_CONTINUED : 0) | (this.isFirstPage ? OGG_BOS : 0) | (isLast ? OGG_EOS : 0);
    const header = Buffer.alloc(HEADER_SIZE + this.segments.length);
    header.write('OggS', 0, 'latin1');
    header[4] = 0;
    header[5] = flags;
    // A page filled in the middle of a packet has no packet ending on it unless an earlier one did.
    header.writeBigUInt64LE(this.granule, 6);
    header.writeUInt32LE(this.serial >>> 0, 14);
    header.writeUInt32LE(this.sequence, 18);
    header.writeUInt32LE(0, 22);
    header[26] = this.segments.length;
    for (let i = 0; i < this.segments.length; i++) header[HEADER_SIZE + i] = this.segments[i]!;
    const page = Buffer.concat([header, ...this.body]);
    page.writeUInt32LE(oggCrc32(page), 22);
    this.pages.push(page);
    this.sequence++;
    this.isFirstPage = false;
    this.startsContinued = packetContinues;
    this.segments = [];
    this.body = [];
    this.granule = NO_GRANULE;
  }
}

export interface OggPage {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  segments: number[];
  body: Buffer;
}

export class OggFormatError extends Error {
  override readonly name = 'OggFormatError';
}

/** Parses every page of one stream, checking capture pattern, version and CRC; throws OggFormatError. */
export function readOggPages(bytes: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < HEADER_SIZE || bytes.toString('latin1', at, at + 4) !== 'OggS')
      throw new OggFormatError(`no Ogg page at byte ${at}`);
    if (bytes[at + 4] !== 0) throw new OggFormatError(`unknown Ogg version ${bytes[at + 4]} at byte ${at}`);
    const count = bytes[at + 26]!;
    const headerEnd = at + HEADER_SIZE + count;
    if (headerEnd > bytes.length) throw new OggFormatError(`Ogg page at byte ${at} is cut short`);
    const segments = [...bytes.subarray(at + HEADER_SIZE, headerEnd)];
    const end = headerEnd + segments.reduce((a, b) => a + b, 0);
    if (end > bytes.length) throw new OggFormatError(`Ogg page at byte ${at} is cut short`);
    const page = Buffer.from(bytes.subarray(at, end));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    if (oggCrc32(page) !== crc) throw new OggFormatError(`Ogg page at byte ${at} fails its CRC`);
    pages.push({
      flags: bytes[at + 5]!,
      granule: bytes.readBigUInt64LE(at + 6),
      serial: bytes.readUInt32LE(at + 14),
      sequence: bytes.readUInt32LE(at + 18),
      segments,
      body: bytes.subarray(headerEnd, end),
    });
    at = end;
  }
  return pages;
}

/** Reassembles the packets of pages (one logical stream), with the page on which each packet ends. */
export function oggPackets(pages: OggPage[]): { packet: Buffer; page: number }[] {
  const packets: { packet: Buffer; page: number }[] = [];
  let pending: Buffer[] = [];
  pages.forEach((page, index) => {
    if (pending.length > 0 && !(page.flags & OGG_CONTINUED))
      throw new OggFormatError(`page ${page.sequence} drops a packet continued from the page before`);
    if (pending.length === 0 && page.flags & OGG_CONTINUED)
      throw new OggFormatError(`page ${page.sequence} continues a packet no page began`);
    let offset = 0;
    for (const length of page.segments) {
      pending.push(page.body.subarray(offset, offset + length));
      offset += length;
      if (length < 255) {
        packets.push({ packet: Buffer.concat(pending), page: index });
        pending = [];
      }
    }
  });
  if (pending.length > 0) throw new OggFormatError('the last Ogg page ends inside a packet');
  return packets;
}
