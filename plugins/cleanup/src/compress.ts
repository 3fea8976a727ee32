import ms from 'ms'
import type {GcItem} from '../../../src/bus/index.ts'
import {SessError} from '../../../src/errors/index.ts'
import type {LockRow} from '../../../src/lock/table.ts'
import type {BlobCodec, BlobRef} from '../../../src/store/blob-store.ts'
import {isUncertainCommit, type StoreContext} from '../../../src/store/context.ts'
import {COMPRESSION_CODEC, decode, encode} from '../../persistence/src/blobs/codec.ts'
import type {ContentScan} from './content/home-scan.ts'
import type {ContentSource} from './content/source.ts'
import {count, type GcReport, type Planned} from './gc.ts'
import {type BlobRow, type Inventory, inUse} from './inventory.ts'

/** Blobs compressed per batch: one write transaction switches their rows. */
const BATCH_BLOBS = 100

/** Bytes (before compression) read per batch at most, so that a batch's memory stays bounded. */
const BATCH_BYTES = 64 * 1024 * 1024

/**
 * The blobs to compress: those not yet considered (`codec` null) of live sessions whose last
 * activity is older than `compressAfter` ms before `now`, except
 * - sessions in the trash, or going there in this run (`trashing`): gc deletes them soon;
 * - sessions in use: locked by a live lease, or `active`, `processing` or `waiting_for_input`
 *   with an owner that may be alive. They are left alone while they may be written to, though a
 *   row switch could not lose a write (it changes no content, and it is a compare-and-swap).
 * Pinned sessions are compressed: compression removes nothing. Blobs missing or of
 * the wrong length are left to the litter items.
 */
export function planCompression(
  inventory: Inventory,
  scan: ContentScan,
  compressAfter: number,
  now: number,
  held: Map<string, LockRow>,
  deaths: Map<string, string | undefined>,
  trashing: ReadonlySet<string>,
): Planned[] {
  const planned: Planned[] = []
  for (const row of inventory.blobs) {
    if (row.codec !== null || trashing.has(row.sessionId)) continue
    const session = inventory.sessions.get(row.sessionId)
    if (!session || session.trashedAt !== null || session.lastActivityAt >= now - compressAfter || inUse(session, held, deaths) !== null) continue
    const file = scan.dirs.get(row.sessionId)?.blobs.get(row.blob)
    if (!file || file.bytes !== row.storedBytes) continue
    const what = `${row.table === 'versions' ? 'version' : 'snapshot'} ${row.seq}`
    const reason = `${what}; the session has been idle for ${ms(Math.max(0, now - session.lastActivityAt))}, over ${ms(compressAfter)} (compressAfter)`
    const item: GcItem = {action: 'compress', bytes: row.bytes, bytesAfter: null, name: session.name, path: file.path, reason, sessionId: session.id, type: 'blob'}
    planned.push({compress: row, item})
  }
  return planned
}

/** A blob compressed into a new blob whose row is not switched yet. */
interface Written {
  entry: Planned
  ref: BlobRef
}

/**
 * Compresses the planned blobs, in batches. Each batch runs under the content lock (shared, as a
 * writer: a sweep never sees its blobs half-way), in an order that a kill at any instant leaves
 * every blob readable:
 * 1. each blob is read (its SHA-256 checked), compressed, checked to decompress to the same
 *    bytes, and written as a new blob through the store's blob store (a file: temp file, fsync,
 *    link, fsync of the directory; in the database: its chunks, in a transaction of their own);
 * 2. one write transaction switches every row to its new blob (codec, stored length, SHA-256 of
 *    the stored bytes; the original's stay), each only if the row still names the old blob,
 *    is not yet compressed and no live lease holds the session's lock;
 * 3. the old blobs are deleted.
 *
 * A kill before 2 leaves a temp file or a new blob no row names (litter gc and doctor remove); a
 * kill after 2 leaves old blobs no row names (the same). A blob that compression would not shrink
 * is marked `identity` instead (kept as is, never considered again) and reported as skipped.
 *
 * @param content where the blobs are, to name the new ones in the report.
 * @param done called with the number of items finished, for progress.
 */
export async function executeCompression(ctx: StoreContext, content: ContentSource, todo: Planned[], report: GcReport, skip: (entry: Planned, reason: string) => void, done: (n: number) => void): Promise<void> {
  for (let start = 0; start < todo.length; ) {
    let end = start
    let bytes = 0
    while (end < todo.length && end - start < BATCH_BLOBS && (end === start || bytes + todo[end]!.compress!.bytes <= BATCH_BYTES)) bytes += todo[end++]!.compress!.bytes
    const batch = todo.slice(start, end)
    await ctx.content.shared(() => compressBatch(ctx, content, batch, report, skip))
    done(batch.length)
    start = end
  }
}

async function compressBatch(ctx: StoreContext, content: ContentSource, batch: Planned[], report: GcReport, skip: (entry: Planned, reason: string) => void): Promise<void> {
  const written: Written[] = []
  const identity: {entry: Planned; size: number}[] = []
  let switched: Set<Planned>
  try {
    for (const entry of batch) {
      const row = entry.compress!
      let original: Uint8Array
      try {
        original = await ctx.blobs.get(row.sessionId, row)
      } catch (error) {
        if (!(error instanceof SessError)) throw error
        skip(entry, `it cannot be read: ${error.message} (see sess doctor)`)
        continue
      }
      const stored = encode(COMPRESSION_CODEC, original)
      if (stored.length >= original.length) identity.push({entry, size: stored.length})
      else if (!Buffer.from(decode(COMPRESSION_CODEC, stored)).equals(original)) skip(entry, `its ${COMPRESSION_CODEC} copy did not decompress to the same bytes; it stays as is`)
      else written.push({entry, ref: await ctx.blobs.put(row.sessionId, stored)})
    }
    switched = await ctx.write(async (trx) => {
      const ok = new Set<Planned>()
      const now = ctx.now()
      const update = async (row: BlobRow, set: {blob?: string; codec: BlobCodec; stored_bytes?: number; stored_sha256?: string}) => {
        const result = await trx
          .updateTable(row.table)
          .set(set)
          .where('session_id', '=', row.sessionId)
          .where(row.table === 'versions' ? 'version' : 'seq', '=', row.seq)
          .where('blob', '=', row.blob)
          .where('codec', 'is', null)
          .where(({exists, not, selectFrom}) =>
            not(exists(selectFrom('locks').select('locks.session_id').where('locks.session_id', '=', row.sessionId).where('locks.lease_id', 'is not', null).where('locks.expires_at', '>', now))),
          )
          .executeTakeFirst()
        return Number(result.numUpdatedRows) === 1
      }
      for (const {entry, ref} of written) {
        if (await update(entry.compress!, {blob: ref.blob, codec: COMPRESSION_CODEC, stored_bytes: ref.bytes, stored_sha256: ref.sha256})) ok.add(entry)
      }
      for (const {entry} of identity) if (await update(entry.compress!, {codec: 'identity'})) ok.add(entry)
      return ok
    })
  } catch (error) {
    // No row was switched: the new blobs are litter, removed now rather than left to the next
    // sweep; unless the commit itself failed, when rows may yet name them.
    if (!isUncertainCommit(error)) for (const {entry, ref} of written) await ctx.blobs.delete(entry.compress!.sessionId, ref.blob).catch(() => undefined)
    throw error
  }
  for (const {entry, ref} of written) {
    const row = entry.compress!
    if (!switched.has(entry)) {
      await ctx.blobs.delete(row.sessionId, ref.blob)
      skip(entry, 'it changed since the plan (pruned, compressed already, or its session locked)')
      continue
    }
    await ctx.blobs.delete(row.sessionId, row.blob)
    count(report, {...entry.item, bytesAfter: ref.bytes, path: content.locate(row.sessionId, ref.blob)})
  }
  for (const {entry, size} of identity) {
    skip(entry, switched.has(entry) ? `compression would not shrink it (${entry.item.bytes} → ${size} bytes): it stays as is, and is not tried again` : 'it changed since the plan')
  }
}
