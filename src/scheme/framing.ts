import { MAX_FRAME_BODY } from './profile.js';

/** Section 2: a 2-byte big-endian length, then 1..8192 bytes of printable ASCII. */
export const FRAME_HEADER = 2;

export class FramingError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FramingError';
  }
}

/** Offset of the first byte outside 0x20..0x7E, or -1 when the body is all printable ASCII. */
export function firstNonPrintable(body: Buffer): number {
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b < 0x20 || b > 0x7e) return i;
  }
  return -1;
}

export function frame(body: Buffer): Buffer {
  if (body.length < 1 || body.length > MAX_FRAME_BODY)
    throw new FramingError(`body of ${body.length} bytes is outside 1..${MAX_FRAME_BODY}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, FRAME_HEADER);
  return out;
}

/**
 * Cuts a byte stream into frame bodies. A frame that breaks section 2 makes `push` throw
 * FramingError: the caller closes the connection (R11), so nothing after it is read.
 */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const bodies: Buffer[] = [];
    let at = 0;
    while (data.length - at >= FRAME_HEADER) {
      const len = data.readUInt16BE(at);
      if (len < 1 || len > MAX_FRAME_BODY)
        throw new FramingError(`frame length ${len} is outside 1..${MAX_FRAME_BODY}`);
      if (data.length - at - FRAME_HEADER < len) break;
      const body = data.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len);
      const bad = firstNonPrintable(body);
      if (bad >= 0) throw new FramingError(`byte ${body[bad]} at offset ${bad} of a body is not printable ASCII`);
      bodies.push(body);
      at += FRAME_HEADER + len;
    }
    // Copy the remainder so that the retained slice does not pin a large socket buffer.
    this.buffered = at === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(at));
    return bodies;
  }

  /** Bytes of an incomplete frame held back. */
  get pending(): number {
    return this.buffered.length;
  }
}
