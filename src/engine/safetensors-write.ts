/**
 * A writer of safetensors files (the layout src/engine/safetensors.ts reads): an 8-byte
 * little-endian header length, the JSON header { name: { dtype, shape, data_offsets } ,
 * "__metadata__"? } padded with spaces to a multiple of 8 bytes, then the tensors back to back in
 * the order given, little-endian, with no gaps (as the reference implementation writes them).
 */

/** A tensor to write: F32 from a Float32Array, I8 from an Int8Array, U8 from a Uint8Array. */
export type TensorToWrite =
  | { dtype: 'F32'; shape: readonly number[]; data: Float32Array }
  | { dtype: 'I8'; shape: readonly number[]; data: Int8Array }
  | { dtype: 'U8'; shape: readonly number[]; data: Uint8Array };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a safetensors file holding `tensors` (in their order) and `metadata`. */
export function writeSafetensors(tensors: ReadonlyMap<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`writeSafetensors: tensor ${name} has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    if (t.dtype === 'F32' && !LITTLE_ENDIAN) for (let i = 0; i < t.data.length; i++) view.setFloat32(at + 4 * i, t.data[i]!, true);
    else out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
