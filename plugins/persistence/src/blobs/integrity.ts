import {StorageError} from '../../../../src/errors/index.ts'
import {type BlobRef, sha256} from '../../../../src/store/blob-store.ts'
import {decode, isCompressed} from './codec.ts'

/**
 * The bytes of a blob from its stored form `stored`, as every blob store reads them: when
 * `ref.codec` names a compression, the stored form is checked against `ref.storedBytes` and
 * `ref.storedSha256`, then decoded; the bytes are checked against `ref.bytes` and `ref.sha256`.
 *
 * @param where names the blob in messages (its file, or its rows).
 * @throws {StorageError} "damaged" when a length or SHA-256 does not match or it does not decode.
 */
export function checkedContent(where: string, stored: Uint8Array, ref: BlobRef): Uint8Array {
  let bytes = stored
  if (isCompressed(ref.codec)) {
    assertIntact(where, stored, ref.storedSha256 ?? '', ref.storedBytes ?? -1, ` (${ref.codec})`)
    try {
      bytes = decode(ref.codec, stored)
    } catch (error) {
      throw damaged(`Content of ${where} is damaged: it does not decompress as ${ref.codec} (${(error as Error).message}).`)
    }
  }
  assertIntact(where, bytes, ref.sha256, ref.bytes, isCompressed(ref.codec) ? ' once decompressed' : '')
  return bytes
}

/** How long the stored form of `ref` is, in bytes: its encoded length when compressed, else its length. */
export function storedLength(ref: BlobRef): number {
  return isCompressed(ref.codec) ? (ref.storedBytes ?? 0) : ref.bytes
}

/** @throws {StorageError} "damaged" unless `bytes` has length `length` and SHA-256 `expected` (`what` says which form of the content was checked). */
function assertIntact(where: string, bytes: Uint8Array, expected: string, length: number, what: string): void {
  const actual = sha256(bytes)
  if (actual !== expected || bytes.length !== length) {
    throw damaged(`Content of ${where} is damaged: SHA-256 ${actual} (${bytes.length} bytes)${what}, expected ${expected} (${length} bytes).`)
  }
}

/** What to do about a stored copy that is missing or damaged. */
export const DAMAGED_HINT = 'The stored copy no longer matches what was saved: `sess doctor` reports it (and --fix quarantines it). Restore another version (--version), or save the original again.'

function damaged(message: string): StorageError {
  return new StorageError(message, {hint: DAMAGED_HINT})
}
