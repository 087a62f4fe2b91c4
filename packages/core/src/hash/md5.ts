import { createHash } from 'node:crypto';

/** First four bytes of MD5(data), big-endian, as an unsigned 32-bit integer. */
export function md5Prefix32(data: Uint8Array | string): number {
  const d = createHash('md5').update(data).digest();
  return d.readUInt32BE(0);
}
