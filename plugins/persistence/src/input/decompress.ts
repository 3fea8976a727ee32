import {gunzipSync, zstdDecompressSync} from 'node:zlib'
import {InvalidInputError} from '../../../../src/errors/index.ts'
import {CODEC_MAGIC, type CompressionCodec} from '../blobs/codec.ts'
import {inputTooLarge} from './limits.ts'

/**
 * The session inside `bytes` when they are zstd- or gzip-compressed (recognised by their magic
 * bytes, see `CODEC_MAGIC`: a `.jsonl.zst`, or a blob `sess gc` compressed), decompressed to at
 * most `limit` bytes; anything else as it is. Decompression stops at the limit, so a small file
 * that would expand without end (a "zip bomb") costs no more than the limit.
 *
 * @param source names the input in errors (a path, or `stdin`).
 * @throws {LimitError} when the decompressed session would exceed `limit`.
 * @throws {InvalidInputError} when the bytes start like a compressed file but do not decompress.
 */
export function decompressInput(bytes: Uint8Array, source: string, limit: number): Uint8Array {
  const codec = (Object.keys(CODEC_MAGIC) as CompressionCodec[]).find((name) => startsWith(bytes, CODEC_MAGIC[name]))
  if (codec === undefined) return bytes
  try {
    const decompress = codec === 'zstd' ? zstdDecompressSync : gunzipSync
    const out = decompress(bytes, {maxOutputLength: limit})
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw inputTooLarge(`${source} (${codec}-compressed)`, limit)
    throw new InvalidInputError(`${source} starts like a ${codec}-compressed file but does not decompress: ${(error as Error).message}`, {
      hint: `Check the file (${codec === 'zstd' ? 'zstd -t' : 'gzip -t'} tests it), or save the session it holds uncompressed.`,
    })
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, index) => bytes[index] === byte)
}
