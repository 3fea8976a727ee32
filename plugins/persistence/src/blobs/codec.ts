import type {BlobCodec} from '../../../../src/store/blob-store.ts'

/** A codec that compresses: what `sess gc` may store a cold blob as. */
export type CompressionCodec = Exclude<BlobCodec, 'identity'>

/**
 * The codec `sess gc` compresses cold blobs with: zstd at level 3 (zstd's own default), through
 * Bun's built-in libzstd (`Bun.zstdCompressSync`). On the session corpus, blob by blob, it
 * compresses about 2× as fast as gzip at level 6 and decompresses a little faster, for nearly
 * the same ratio (3.55× against 3.67×): `npm run bench`, section (j).
 */
export const COMPRESSION_CODEC: CompressionCodec = 'zstd'

/** zstd level used by {@link encode}: zstd's default, the usual trade of speed for ratio. */
const ZSTD_LEVEL = 3

/** gzip level used by {@link encode}: zlib's default. */
const GZIP_LEVEL = 6

/** The first bytes of a file each codec writes: the zstd frame magic number (RFC 8878 §3.1.1) and the gzip ID1 ID2 CM bytes (RFC 1952 §2.3.1). */
export const CODEC_MAGIC: Readonly<Record<CompressionCodec, Uint8Array>> = {
  gzip: Uint8Array.of(0x1f, 0x8b, 0x08),
  zstd: Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd),
}

/** `bytes` compressed with `codec` (one zstd frame, or one gzip member). */
export function encode(codec: CompressionCodec, bytes: Uint8Array): Uint8Array {
  return codec === 'zstd' ? Bun.zstdCompressSync(bytes, {level: ZSTD_LEVEL}) : Bun.gzipSync(bytes as Uint8Array<ArrayBuffer>, {level: GZIP_LEVEL})
}

/**
 * `stored` decompressed with `codec`.
 *
 * @throws the decompressor's error for bytes that are not a valid frame of that codec.
 */
export function decode(codec: CompressionCodec, stored: Uint8Array): Uint8Array {
  const bytes = codec === 'zstd' ? Bun.zstdDecompressSync(stored) : Bun.gunzipSync(stored as Uint8Array<ArrayBuffer>)
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) // a plain Uint8Array, as a blob read as is
}

/** Whether `codec` names a compression (as opposed to a blob stored as is). */
export function isCompressed(codec: BlobCodec | null | undefined): codec is CompressionCodec {
  return codec === 'zstd' || codec === 'gzip'
}
