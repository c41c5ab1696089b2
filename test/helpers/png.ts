// A PNG decoder for the screenshot check (8-bit greyscale, RGB or RGBA, not interlaced: what
// Chromium writes), so the test can look at pixels without an image library.
import { inflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface Png {
  width: number;
  height: number;
  /** Bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
  channels: number;
  /** Unfiltered pixel rows, `width * channels` bytes each. */
  data: Buffer;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export function decodePng(buf: Buffer): Png {
  if (!buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let off = 8; off + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const body = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8]!;
      const colour = body[9]!;
      if (depth !== 8 || body[12] !== 0 || !CHANNELS[colour]) throw new Error(`PNG: unsupported depth ${depth}, colour type ${colour}, interlace ${body[12]}`);
      channels = CHANNELS[colour]!;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = data.subarray(y * stride, (y + 1) * stride);
    const prev = y ? data.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      let p = 0;
      if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`PNG: bad filter ${filter} on row ${y}`);
      row[i] = (src[i]! + p) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** How many pixels have this RGB colour (within `tolerance` per channel). */
export function countColour(png: Png, rgb: readonly [number, number, number], tolerance = 0): number {
  if (png.channels < 3) return 0;
  let n = 0;
  for (let i = 0; i < png.data.length; i += png.channels) {
    if (Math.abs(png.data[i]! - rgb[0]) <= tolerance && Math.abs(png.data[i + 1]! - rgb[1]) <= tolerance && Math.abs(png.data[i + 2]! - rgb[2]) <= tolerance)
      n++;
  }
  return n;
}
