import type {StoreContext} from '../../../../src/store/context.ts'
import type {StoreLayout} from '../../../../src/store/home.ts'
import {FileBlobStore} from '../../../persistence/src/blobs/file-blob-store.ts'
import {ChunkContent} from './chunks.ts'
import {FileContent} from './files.ts'
import type {ContentScan, FoundBatch} from './home-scan.ts'

/**
 * Where a store's content is, as gc, doctor and stats see it: the blobs (saved originals,
 * snapshots) and the quarantine, with the files of the home. Content is named by a path: a file
 * or directory of the home, or for blobs in the database a locator (see {@link ChunkContent}).
 * Every operation on content that differs between the two places goes through here; the rest of
 * gc and doctor is one code path.
 */
export interface ContentSource {
  /**
   * Lists the content and the home's files (temp files, symlinks, modes, the quarantine). Called
   * under the exclusive content lock, so that no write is in flight.
   */
  scan(): Promise<ContentScan>
  /** The quarantine batches alone (for `stats`). */
  quarantineBatches(): Promise<FoundBatch[]>
  /** The path of a blob. */
  locate(sessionId: string, blob: string): string
  /** The length of a blob as stored now, bytes; `undefined` when it is missing. */
  storedLength(sessionId: string, blob: string): Promise<number | undefined>
  /**
   * The SHA-256 (hex) of a blob as stored, read now; `undefined` when it is missing.
   *
   * @throws {StorageError} when it cannot be read.
   */
  storedSha256(sessionId: string, blob: string): Promise<string | undefined>
  /**
   * Sets aside what `path` names (a file or directory of the home, a blob, or every blob of a
   * session) in this run's quarantine batch, where gc deletes it after the trash's grace period.
   *
   * @returns `false` when it was gone already. @throws {StorageError} when it cannot be moved.
   */
  quarantine(path: string): Promise<boolean>
  /** The quarantine batch this source set things aside in, once it did. */
  readonly quarantined: string | undefined
  /**
   * Deletes every blob of each session of `ids` (a purge), durably before it returns.
   *
   * @returns why, by session id, the blobs of those it could not delete were left.
   */
  deleteSessions(ids: readonly string[]): Promise<Map<string, string>>
  /**
   * Why a session's blobs may not be purged (something gc never follows, such as a symlink, stands
   * in their place), checked before its rows go; `undefined` when they may.
   */
  purgeBlocker(sessionId: string): string | undefined
  /** Deletes a quarantine batch (`path` of a {@link FoundBatch}). @throws {StorageError} when it cannot. */
  deleteBatch(path: string): Promise<void>
  /** Bytes of the stored blobs (compressed or not, litter included, the quarantine not). */
  blobBytes(): Promise<number>
}

/**
 * The content source of a store: its blob files under the home when its blob store is the file
 * one (`FileBlobStore`), else the rows of `blob_chunks` in its database (a store shared on
 * PostgreSQL, DESIGN §8). The content is looked for where the blob store keeps it, so that the
 * sweep and the writes always agree.
 *
 * @param now the run's time (ms): quarantine batches are named by it.
 */
export function contentSource(ctx: StoreContext, layout: StoreLayout, now: number): ContentSource {
  return ctx.blobs instanceof FileBlobStore ? new FileContent(layout, now) : new ChunkContent(ctx, layout, now)
}
