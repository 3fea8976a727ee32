import type {VersionsTable} from '../db/schema.ts'
import {StorageError} from '../errors/index.ts'

/** How a blob file is encoded: `zstd` (RFC 8878) or `gzip` (RFC 1952); absent, `null` or `identity`: as is. */
export type BlobCodec = 'identity' | 'zstd' | 'gzip'

/** What the store keeps of one blob: where, how big, and its SHA-256. */
export interface BlobRef {
  /** Name of the blob within its session (opaque to callers). */
  blob: string
  /** SHA-256 of the bytes, lowercase hex. */
  sha256: string
  /** Size in bytes. */
  bytes: number
  /** How the file is encoded (`sess gc` compresses cold blobs); absent or `null`: as is. */
  codec?: BlobCodec | null
  /** Length and SHA-256 of the file as stored, when encoded; absent or `null`: those of the bytes. */
  storedBytes?: number | null
  storedSha256?: string | null
}

/**
 * Durable storage of immutable byte strings (saved originals, snapshots), per session. A blob is
 * wholly there or not there after a crash at any instant. The persistence plugin provides the
 * implementations: files in the home (`FileBlobStore`, beside SQLite) and rows in the database
 * (`PostgresBlobStore`, for a store shared on PostgreSQL); the index (metadata database) says
 * which blobs are live.
 */
export interface BlobStore {
  /** Writes `bytes` durably; returns once they survive a crash. */
  put(sessionId: string, bytes: Uint8Array): Promise<BlobRef>
  /**
   * Reads a blob back, decodes it (`ref.codec`), and checks the SHA-256 of the file as stored and
   * of the bytes decoded.
   *
   * @throws {StorageError} when it is missing (see {@link isMissingBlob}), cannot be decoded, or a checksum does not match.
   */
  get(sessionId: string, ref: BlobRef): Promise<Uint8Array>
  /** Deletes one blob; a missing one is not an error. */
  delete(sessionId: string, blob: string): Promise<void>
  /** Deletes every blob of a session. */
  deleteSession(sessionId: string): Promise<void>
}

/**
 * The error of a blob that is not there (its rows gone), for a blob store that keeps no files: its
 * cause has the code `ENOENT`, as the error of a missing blob file has, so that readers treat both
 * alike (see {@link isMissingBlob}).
 *
 * @param where names the blob.
 */
export function missingBlob(where: string): StorageError {
  return new StorageError(`Content of ${where} is missing.`, {
    cause: Object.assign(new Error(`no content for ${where}`), {code: 'ENOENT'}),
    hint: 'It was deleted after its row was read, or outside sess; `sess doctor` reports rows whose content is missing.',
  })
}

/** Whether `error` says that a blob is not there (a missing file, or {@link missingBlob}). */
export function isMissingBlob(error: unknown): boolean {
  return error instanceof StorageError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

/** SHA-256 of `bytes`, lowercase hex, as {@link BlobRef.sha256} holds it. */
export function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
}

/** The columns of a `versions` or `snapshots` row that name and describe its blob. */
export type BlobColumnsOfRow = Pick<VersionsTable, 'blob' | 'sha256' | 'bytes' | 'codec' | 'stored_bytes' | 'stored_sha256'>

/** The {@link BlobRef} a row of `versions` or `snapshots` holds (sizes come back from SQLite as numbers or bigints). */
export function blobRefOf(row: BlobColumnsOfRow): BlobRef {
  return {
    blob: row.blob,
    bytes: Number(row.bytes),
    codec: row.codec,
    sha256: row.sha256,
    storedBytes: row.stored_bytes === null ? null : Number(row.stored_bytes),
    storedSha256: row.stored_sha256,
  }
}
