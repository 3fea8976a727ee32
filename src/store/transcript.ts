import type {SessConfig} from '../config/file.ts'
import {checkFence} from '../lock/fence.ts'
import {isSessionId} from '../session/names.ts'
import type {SessionRecord, StoredRecord} from '../session/types.ts'
import {byteLength, type StoreContext} from './context.ts'
import {inPages, PAGE} from './pages.ts'
import {assertRecord} from './validate.ts'
import {beforeWriting, reportRedacted, type Written} from './writing.ts'

/**
 * See `Store.append`. The hot path: one write transaction — the session's counters bumped (which
 * also resolves `ref`), the lock's fencing check, the record inserted, then indexed for search —
 * and no lookup before it. Only while a handler of `records.writing` is registered, that event
 * runs first (see {@link beforeWriting}) and the record written is the one its handlers leave.
 *
 * @param settings reads the store's settings, for the handlers of `records.writing`.
 */
export async function appendRecord(ctx: StoreContext, ref: string, given: SessionRecord, settings: () => SessConfig): Promise<number> {
  let body = assertRecord(given)
  let record = given
  let target = ref
  let written: Written<{records: readonly SessionRecord[]}> | undefined
  if (ctx.bus.has('records.writing')) {
    written = await beforeWriting(ctx, ref, {records: [given]}, settings)
    target = written.sessionId
    ;[record] = written.content.records as [SessionRecord]
    if (record !== given) body = JSON.stringify(record)
  }
  const now = ctx.now()
  const byId = isSessionId(target)
  const appended = await ctx.write(async (trx) => {
    const bumped = await ctx.prepared.execute(
      trx,
      byId ? 'append.bump.id' : 'append.bump.name',
      (param) =>
        trx
          .updateTable('sessions')
          .set((eb) => ({bytes: eb('bytes', '+', param('bytes')), last_activity_at: param('now'), record_count: eb('record_count', '+', 1)}))
          .where(byId ? 'id' : 'name', '=', param('ref'))
          .where('trashed_at', 'is', null)
          .returning(['id', 'record_count']),
      {bytes: byteLength(body), now, ref: target},
    )
    const session = bumped.rows[0]
    if (!session) return undefined
    await checkFence(ctx, trx, session.id)
    const seq = Number(session.record_count)
    await ctx.prepared.execute(
      trx,
      'append.insert',
      (param) => trx.insertInto('records').values({body: param('body'), seq: param('seq'), session_id: param('id'), ts: param('ts'), type: param('type')}),
      {body, id: session.id, seq, ts: record.ts ?? null, type: record.type},
    )
    await ctx.search.index(trx, [{record, seq, sessionId: session.id}])
    return {id: session.id, seq}
  })
  if (!appended) throw ctx.notFound(ref)
  await ctx.bus.emit('record.appended', {record, seq: appended.seq, sessionId: appended.id})
  await reportRedacted(ctx, written, 'records', appended.seq)
  return appended.seq
}

/** See `Store.records`. */
export async function* readRecords(ctx: StoreContext, ref: string, options: {after?: number; last?: number; includeTrashed?: boolean}): AsyncGenerator<StoredRecord> {
  const row = await ctx.row(ref, options.includeTrashed)
  const after = options.last === undefined ? (options.after ?? 0) : Math.max(options.after ?? 0, Number(row.record_count) - options.last)
  const rows = inPages(after, (last) =>
    ctx.db.selectFrom('records').select(['seq', 'body']).where('session_id', '=', row.id).where('seq', '>', last).orderBy('seq').limit(PAGE).execute(),
  )
  for await (const record of rows) yield {record: JSON.parse(record.body) as SessionRecord, seq: Number(record.seq)}
}
