import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import {InvalidInputError, NotFoundError} from '../errors/index.ts'
import {currentOwner} from '../os/process.ts'
import type {ExportSession} from '../session/format.ts'
import {assertValidName} from '../session/names.ts'
import type {OutputEvent, Session, SessionRecord} from '../session/types.ts'
import {readBlobOfRow} from './blob-rows.ts'
import {insertInBatches, insertSession, type SessionRow, type StoreContext} from './context.ts'
import {followOutput} from './output.ts'
import {getSession} from './sessions.ts'
import {readRecords} from './transcript.ts'
import type {RestoreOptions, RestoreResult} from './types.ts'

/** See `Store.restore`. */
export async function restoreSession(ctx: StoreContext, ref: string, options: RestoreOptions): Promise<RestoreResult> {
  const session = await getSession(ctx, ref, options.fromTrash)
  const format = options.format ?? session.format ?? 'sess'
  // The saved original is the answer when its format is asked for and no format version is (an
  // explicit asciicast version may differ from the original's: then it is converted).
  const useOriginal = format === session.format && options.asciicastVersion === undefined
  const original = useOriginal ? await readOriginal(ctx, session, options.version) : undefined
  if (options.version !== undefined && original === undefined) {
    throw new InvalidInputError('--version restores a saved original; it cannot be combined with a conversion.', {
      hint: `Drop --format, or use --format ${session.format ?? 'sess'}.`,
    })
  }
  const payload = await ctx.bus.before('session.restoring', {
    asciicastVersion: options.asciicastVersion,
    bytes: original,
    format,
    load: () => exportSession(ctx, session),
    session,
  })
  if (!payload.bytes) {
    throw new InvalidInputError(`sess cannot write ${session.kind} session ${session.name} as ${format}.`, {
      hint: "Formats: sess, markdown, asciicast (terminal sessions), or the session's own original format.",
    })
  }
  await ctx.bus.emit('session.restored', {bytes: payload.bytes.length, format, session})
  return {bytes: payload.bytes, format, original: original !== undefined && payload.bytes === original}
}

/** See `Store.fork`. */
export async function forkSession(ctx: StoreContext, ref: string, name: string): Promise<Session> {
  assertValidName(name)
  const source = await ctx.row(ref)
  const tags = (await ctx.tagsOf([source.id])).get(source.id) ?? []
  await ctx.assertNameFree(name) // before any byte is written
  const now = ctx.now()
  const id = ctx.newId(now)
  const read = await readBlobOfRow(ctx, source.id, () =>
    ctx.db.selectFrom('versions').selectAll().where('session_id', '=', source.id).orderBy('version', 'desc').limit(1).executeTakeFirst(),
  )
  const latest = read?.row
  const original = read?.bytes
  const owner = currentOwner()
  const row: SessionRow = {
    ...source,
    closed_at: null,
    created_at: now,
    id,
    last_activity_at: now,
    name,
    owner_host: owner.host,
    owner_pid: owner.pid,
    owner_start_time: owner.startTime,
    parent_id: source.id,
    pinned: 0,
    status: 'active',
    trashed_at: null,
    version_count: latest ? 1 : 0,
  }
  // Under the content lock (shared) from the blob's first byte until its row commits (see ContentLock).
  await ctx.content.shared(async () => {
    const blob = original ? await ctx.blobs.put(id, original) : undefined
    await ctx.writeWithBlob(
      {blob: blob?.blob, newSession: true, sessionId: id},
      async (trx) => {
        await insertSession(trx, row, tags)
        // The copy is written as is (`blob` is the original's ref), whatever the source's file was encoded as.
        if (latest && blob) await trx.insertInto('versions').values({...latest, ...blob, codec: null, created_at: now, session_id: id, stored_bytes: null, stored_sha256: null, version: 1}).execute()
        const records = await copyRows(trx, 'records', source.id, id)
        await ctx.search.index(trx, records.map((row) => ({record: JSON.parse(row.body!) as SessionRecord, seq: Number(row.seq), sessionId: id})))
        await copyRows(trx, 'output_events', source.id, id)
        const buffer = await trx.selectFrom('output_buffers').selectAll().where('session_id', '=', source.id).executeTakeFirst()
        if (buffer) await trx.insertInto('output_buffers').values({...buffer, session_id: id}).execute()
      },
      {name},
    )
  })
  const session = await getSession(ctx, id)
  await ctx.bus.emit('session.created', {session})
  return session
}

/** The whole session, for a format handler that converts it. */
async function exportSession(ctx: StoreContext, session: Session): Promise<ExportSession> {
  const records: SessionRecord[] = []
  for await (const {record} of readRecords(ctx, session.id, {includeTrashed: true})) records.push(record)
  const output: OutputEvent[] = []
  for await (const {code, data, time} of followOutput(ctx, session.id, {includeTrashed: true})) output.push({code, data, time})
  return {output, records, session}
}

/** The saved original (latest or `version`), or `undefined` for a session recorded natively. */
async function readOriginal(ctx: StoreContext, session: Session, version?: number): Promise<Uint8Array | undefined> {
  if (session.versionCount === 0) return undefined
  let query = ctx.db.selectFrom('versions').selectAll().where('session_id', '=', session.id)
  query = version === undefined ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version)
  const read = await readBlobOfRow(ctx, session.id, () => query.executeTakeFirst())
  if (!read) throw new NotFoundError(`Session ${session.name} has no version ${version}; it has ${session.versionCount}.`, {hint: `\`sess show ${session.name}\` lists its versions.`})
  return read.bytes
}

/** Copies a session's rows of `table` to session `to`, and returns them. */
async function copyRows(trx: Kysely<Database>, table: 'records' | 'output_events', from: string, to: string): Promise<Array<{seq: number; body?: string}>> {
  const rows = await trx.selectFrom(table).selectAll().where('session_id', '=', from).orderBy('seq').execute()
  await insertInBatches(trx, table, rows.map((row) => ({...row, session_id: to})))
  return rows
}
