/**
 * Typed arrays <-> little-endian bytes for the packed columns of ring.proto. On little-endian hosts
 * (every platform Node ships for in practice) encoding is a zero-copy view and decoding one memcpy;
 * the DataView path keeps the wire format fixed should a big-endian host ever join.
 */

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Column = Uint16Array | Uint32Array | Float64Array;
type ColumnCtor<T extends Column> = { new (length: number): T; readonly BYTES_PER_ELEMENT: number };

/** Thrown for a frame whose content cannot be a valid ring message. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export function columnBytes(column: Column): Uint8Array {
  const view = new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
  if (HOST_IS_LE) return view;
  const out = new Uint8Array(column.byteLength);
  const dv = new DataView(out.buffer);
  const width = column.BYTES_PER_ELEMENT;
  for (let i = 0; i < column.length; i++) writeLe(dv, i * width, column, i);
  return out;
}

/**
 * Always copies: the source is a slice of gRPC's receive buffer, possibly unaligned for the element
 * width, and the ring keeps these arrays long after the frame is gone.
 */
export function columnFromBytes<T extends Column>(bytes: Uint8Array, ctor: ColumnCtor<T>, field: string): T {
  const width = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % width !== 0) {
    throw new FrameError(`${field}: ${bytes.byteLength} bytes is not a multiple of ${width}`);
  }
  const out = new ctor(bytes.byteLength / width);
  if (HOST_IS_LE) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) readLe(dv, i * width, out, i);
  return out;
}

function writeLe(dv: DataView, at: number, column: Column, i: number): void {
  const v = column[i] ?? 0;
  if (column instanceof Float64Array) dv.setFloat64(at, v, true);
  else if (column instanceof Uint32Array) dv.setUint32(at, v, true);
  else dv.setUint16(at, v, true);
}

function readLe(dv: DataView, at: number, out: Column, i: number): void {
  if (out instanceof Float64Array) out[i] = dv.getFloat64(at, true);
  else if (out instanceof Uint32Array) out[i] = dv.getUint32(at, true);
  else out[i] = dv.getUint16(at, true);
}
