import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/**
 * A small real PNG (RGB, `width` × `height`): a soft diagonal gradient with a lighter disc, so a
 * simulated customer's photo looks like a picture in the dashboard. Made here rather than shipped.
 */
export function samplePhoto(width = 320, height = 240): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      const dx = x - width * 0.62;
      const dy = y - height * 0.42;
      const disc = Math.max(0, 1 - Math.sqrt(dx * dx + dy * dy) / (height * 0.28));
      const at = row + 1 + x * 3;
      raw[at] = Math.round(214 - 60 * t + 40 * disc);
      raw[at + 1] = Math.round(168 - 30 * t + 60 * disc);
      raw[at + 2] = Math.round(160 + 40 * t + 50 * disc);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
