import {type BlobColumnsOfRow, blobRefOf, isMissingBlob} from './blob-store.ts'
import type {StoreContext} from './context.ts'

/** How often {@link readBlobOfRow} reads a row again after its file went away. */
const ATTEMPTS = 3

/**
 * The row `load` selects and the bytes of the blob it names (decoded and checked by the blob
 * store). `sess gc` compresses a cold blob into a new file, switches the row to it, then deletes
 * the old file: a reader that selected the row just before the switch finds its file gone. Then
 * the row is selected again and, when it names another blob now, that one is read.
 *
 * @returns `undefined` when `load` finds no row.
 * @throws {StorageError} when the blob is missing (and the row unchanged) or damaged.
 */
export async function readBlobOfRow<R extends BlobColumnsOfRow>(ctx: Pick<StoreContext, 'blobs'>, sessionId: string, load: () => Promise<R | undefined>): Promise<{row: R; bytes: Uint8Array} | undefined> {
  let row = await load()
  for (let attempt = 1; row !== undefined; attempt++) {
    try {
      return {bytes: await ctx.blobs.get(sessionId, blobRefOf(row)), row}
    } catch (error) {
      if (attempt >= ATTEMPTS || !isMissingBlob(error)) throw error
      const again = await load()
      if (again?.blob === row.blob) throw error
      row = again
    }
  }
  return undefined
}
