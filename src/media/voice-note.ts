/**
 * Opus audio as WhatsApp needs it: Ogg/Opus, mono (REFERENCE §1.12). Ogg uploads are checked and kept
 * byte for byte; WebM/Opus recordings (Chromium's MediaRecorder) are remuxed to Ogg without re-encoding.
 */
import { DomainError } from '../chat/errors.js';
import { OGG_BOS, oggPackets, readOggPages, OggFormatError } from './ogg.js';
import { isOpusTags, parseOpusHead, type OpusHead } from './opus.js';
import { remuxWebmToOgg, WebmFormatError } from './webm-to-ogg.js';

/**
 * Checks an Ogg file is one Opus stream: every page's capture pattern and CRC, a BOS page holding
 * only an OpusHead, then OpusTags, then audio. Throws OggFormatError.
 */
export function checkOggOpus(bytes: Buffer): OpusHead {
  const pages = readOggPages(bytes);
  const first = pages[0];
  if (!first || !(first.flags & OGG_BOS)) throw new OggFormatError('the first Ogg page is not a beginning of stream');
  if (pages.some((p) => p.serial !== first.serial)) throw new OggFormatError('the Ogg file holds more than one stream');
  const packets = oggPackets(pages);
  const head = packets[0] ? parseOpusHead(packets[0].packet) : null;
  if (!head || packets[0]!.page !== 0 || first.segments.length !== 1)
    throw new OggFormatError('the Ogg stream does not start with an OpusHead page (not Opus)');
  if (!packets[1] || !isOpusTags(packets[1].packet)) throw new OggFormatError('the Ogg/Opus stream has no OpusTags header');
  if (packets.length < 3) throw new OggFormatError('the Ogg/Opus stream holds no audio');
  return head;
}

export interface OpusAudio {
  bytes: Buffer;
  head: OpusHead;
  /** True when the bytes are a remux of a WebM upload. */
  remuxed: boolean;
}

/**
 * The bytes to store for Opus audio: `audio/ogg` checked and kept, `audio/webm` remuxed. Anything
 * that is not mono Opus is refused with `validation_failed` (WhatsApp plays only mono Ogg/Opus).
 */
export function prepareOpusAudio(bytes: Buffer, type: 'audio/ogg' | 'audio/webm'): OpusAudio {
  let result: OpusAudio;
  try {
    if (type === 'audio/webm') {
      const remux = remuxWebmToOgg(bytes);
      result = { bytes: remux.ogg, head: remux.head, remuxed: true };
    } else {
      result = { bytes, head: checkOggOpus(bytes), remuxed: false };
    }
  } catch (err) {
    if (err instanceof WebmFormatError || err instanceof OggFormatError) {
      throw new DomainError(
        'validation_failed',
        `the ${type === 'audio/webm' ? 'WebM' : 'Ogg'} file is not usable Opus audio: ${err.message}`,
        { field: 'file' },
      );
    }
    throw err;
  }
  if (result.head.channels !== 1) {
    throw new DomainError(
      'validation_failed',
      `WhatsApp plays only mono Opus; this recording has ${result.head.channels} channels (record with channelCount: 1)`,
      { field: 'file' },
    );
  }
  return result;
}
