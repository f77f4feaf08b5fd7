/**
 * The codecs of an MP4/3GP file (ISO base media, ISO/IEC 14496-12), read from each track's sample
 * description: WhatsApp takes video only as H.264 with AAC audio (REFERENCE §1.12).
 */

export class Mp4FormatError extends Error {
  override readonly name = 'Mp4FormatError';
}

export interface Mp4Track {
  /** The handler type: `vide`, `soun`, … */
  handler: string;
  /** The sample entry's four-character code: `avc1`, `mp4a`, `hev1` … */
  codec: string;
}

/** Containers on the way from the file to the sample descriptions. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

interface Box {
  type: string;
  start: number;
  end: number;
}

function* boxes(bytes: Buffer, start: number, end: number): Generator<Box> {
  let at = start;
  while (at + 8 <= end) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) throw new Mp4FormatError(`box ${type} at byte ${at} is cut short`);
      const large = bytes.readBigUInt64BE(at + 8);
      if (large > BigInt(end - at)) throw new Mp4FormatError(`box ${type} at byte ${at} runs past its container`);
      size = Number(large);
      header = 16;
    } else if (size === 0) {
      size = end - at; // to the end of the file
    }
    if (size < header || at + size > end) throw new Mp4FormatError(`box ${type} at byte ${at} runs past its container`);
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

/** Every track with its handler and first sample entry's codec. Throws Mp4FormatError when damaged. */
export function mp4Tracks(bytes: Buffer): Mp4Track[] {
  const tracks: Mp4Track[] = [];
  const walk = (start: number, end: number, track: Mp4Track | null) => {
    for (const box of boxes(bytes, start, end)) {
      if (box.type === 'trak') {
        const next: Mp4Track = { handler: '', codec: '' };
        walk(box.start, box.end, next);
        tracks.push(next);
      } else if (CONTAINERS.has(box.type)) {
        walk(box.start, box.end, track);
      } else if (box.type === 'hdlr' && track && box.end - box.start >= 12) {
        // version/flags (4), pre_defined (4), handler_type (4)
        track.handler = bytes.toString('latin1', box.start + 8, box.start + 12);
      } else if (box.type === 'stsd' && track && box.end - box.start >= 16) {
        // version/flags (4), entry_count (4), then the first entry: size (4), format (4)
        track.codec = bytes.toString('latin1', box.start + 12, box.start + 16);
      }
    }
  };
  walk(0, bytes.length, null);
  return tracks;
}

/**
 * Why an MP4/3GP file is not what WhatsApp plays (REFERENCE §1.12): as `video`, H.264 video with AAC
 * audio if it has sound; as `audio`, an AAC track. Null when it is.
 */
export function whatsAppMp4Problem(bytes: Buffer, kind: 'video' | 'audio'): string | null {
  const tracks = mp4Tracks(bytes);
  if (tracks.length === 0) return 'the file has no tracks (no moov box)';
  const video = tracks.filter((t) => t.handler === 'vide');
  const sound = tracks.filter((t) => t.handler === 'soun');
  if (kind === 'video') {
    if (video.length === 0) return 'the file has no video track';
    const badVideo = video.find((t) => t.codec !== 'avc1' && t.codec !== 'avc3');
    if (badVideo) return `its video is ${badVideo.codec || 'of an unknown codec'}; WhatsApp takes H.264 (avc1)`;
  } else if (sound.length === 0) {
    return 'the file has no audio track';
  }
  const badSound = sound.find((t) => t.codec !== 'mp4a');
  if (badSound) return `its audio is ${badSound.codec || 'of an unknown codec'}; WhatsApp takes AAC (mp4a)`;
  return null;
}
