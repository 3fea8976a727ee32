import type {SessConfig} from '../config/file.ts'
import {InvalidInputError, NotFoundError} from '../errors/index.ts'
import {checkFence} from '../lock/fence.ts'
import {readBlobOfRow} from './blob-rows.ts'
import type {StoreContext} from './context.ts'
import {encodeState} from './validate.ts'
import {beforeWriting, reportRedacted} from './writing.ts'

/** Default number of snapshots kept per session. */
export const DEFAULT_SNAPSHOTS_KEPT = 10

/**
 * See `Store.snapshot`. Only while a handler of `records.writing` is registered, that event runs
 * first for the state's bytes (see {@link beforeWriting}) and the bytes stored are those its
 * handlers leave.
 *
 * @param settings reads the store's settings, for the handlers of `records.writing`.
 */
export async function saveSnapshot(ctx: StoreContext, ref: string, state: unknown, settings: () => SessConfig, keep = DEFAULT_SNAPSHOTS_KEPT): Promise<number> {
  if (!Number.isInteger(keep) || keep < 1) throw new InvalidInputError(`keep must be a whole number ≥ 1, not ${keep}.`)
  let bytes = encodeState(state)
  const {id} = await ctx.row(ref)
  const written = ctx.bus.has('records.writing') ? await beforeWriting(ctx, id, {snapshot: bytes}, settings) : undefined
  if (written) bytes = written.content.snapshot
  const now = ctx.now()
  // Under the content lock (shared) from the blob's first byte until its row commits and the
  // pruned files are gone (see ContentLock): a sweep never sees them half done.
  const seq = await ctx.content.shared(async () => {
    const blob = await ctx.blobs.put(id, bytes)
    const {pruned, seq} = await ctx.writeWithBlob({blob: blob.blob, newSession: false, sessionId: id}, async (trx) => {
      await checkFence(ctx, trx, id)
      const last = await trx.selectFrom('snapshots').select((eb) => eb.fn.max('seq').as('seq')).where('session_id', '=', id).executeTakeFirst()
      const next = Number(last?.seq ?? 0) + 1
      await trx.insertInto('snapshots').values({...blob, created_at: now, seq: next, session_id: id}).execute()
      const old = await trx.selectFrom('snapshots').select('blob').where('session_id', '=', id).where('seq', '<=', next - keep).execute()
      if (old.length > 0) await trx.deleteFrom('snapshots').where('session_id', '=', id).where('seq', '<=', next - keep).execute()
      await trx.updateTable('sessions').set({last_activity_at: now}).where('id', '=', id).execute()
      return {pruned: old.map((row) => row.blob), seq: next}
    })
    // After the commit: a crash here leaves only unreferenced files, which gc removes.
    for (const old of pruned) await ctx.blobs.delete(id, old)
    return seq
  })
  await reportRedacted(ctx, written, 'snapshot', seq)
  return seq
}

/** See `Store.latestSnapshot`. */
export async function readSnapshot(ctx: StoreContext, ref: string, seq?: number): Promise<{seq: number; bytes: Uint8Array}> {
  const {id} = await ctx.row(ref)
  let query = ctx.db.selectFrom('snapshots').selectAll().where('session_id', '=', id)
  query = seq === undefined ? query.orderBy('seq', 'desc').limit(1) : query.where('seq', '=', seq)
  const read = await readBlobOfRow(ctx, id, () => query.executeTakeFirst())
  if (!read) throw new NotFoundError(`Session ${ref} has no snapshot${seq === undefined ? '' : ` ${seq}`}.`)
  return {bytes: read.bytes, seq: Number(read.row.seq)}
}
