import type {Kysely} from 'kysely'
import type {SessConfig} from '../config/file.ts'
import type {Database} from '../db/schema.ts'
import {InvalidInputError, NotASessionError} from '../errors/index.ts'
import {checkFence} from '../lock/fence.ts'
import type {ParsedSession} from '../session/format.ts'
import {assertValidName, toSessionName} from '../session/names.ts'
import type {Damage} from '../session/types.ts'
import {byteLength, emptyRow, insertInBatches, insertSession, type SessionRow, type StoreContext} from './context.ts'
import {sha256} from './blob-store.ts'
import {getSession} from './sessions.ts'
import type {SaveInput, SaveResult, VersionInfo} from './types.ts'
import {assertTags, isValidTag} from './validate.ts'

/** See `Store.save`. `settings` reads the store's settings, for the handlers of `session.saving`. */
export async function saveOriginal(ctx: StoreContext, input: SaveInput, settings: () => SessConfig): Promise<SaveResult> {
  ctx.assertOpen()
  const givenTags = assertTags(input.tags ?? [])
  // A bad name is refused first, even for bytes already saved (which save nothing).
  const explicit = input.into !== undefined || input.name === undefined ? undefined : assertValidName(input.name)
  const target = input.into === undefined ? undefined : await ctx.row(input.into)
  if (target && target.version_count === 0) {
    throw new InvalidInputError(`Session ${target.name} was recorded by an application, not imported; it has no versions to add to.`, {
      hint: 'Save into a new session instead (drop --session).',
    })
  }
  const payload = await ctx.bus.before('session.saving', {allowRaw: input.allowRaw ?? true, bytes: input.bytes, format: input.format, path: input.path, settings})
  const parsed = payload.parsed
  if (!parsed) throw new NotASessionError(input.path ?? 'The input', payload.rejection ?? 'no format handler recognised it')
  const bytes = payload.bytes
  const redacted = {...payload.redacted}
  // An original's own tags join the given ones; any that are not valid tags are dropped, not fatal.
  const tags = [...new Set([...givenTags, ...(parsed.meta.tags ?? []).filter(isValidTag)])]
  const digest = sha256(bytes)
  const saved = await findSaved(ctx.db, digest, target?.id) // cheap check first: no blob written for a re-import
  if (saved) return {...saved, format: parsed.format, redacted}
  const now = ctx.now()
  const id = target?.id ?? ctx.newId(now)
  if (explicit !== undefined) await ctx.assertNameFree(explicit) // before any byte is written
  let name = target?.name ?? explicit ?? ''
  // Under the content lock (shared) from the blob's first byte until its row commits: a sweep for litter never takes it meanwhile.
  const outcome = await ctx.content.shared(async () => {
    const blob = await ctx.blobs.put(id, bytes)
    const written = {blob: blob.blob, newSession: !target, sessionId: id}
    const result = await ctx.writeWithBlob(
      written,
      async (trx) => {
        if (target) await checkFence(ctx, trx, id)
        // Checked again inside the write transaction, so that two processes saving the same bytes
        // cannot both add them, nor two imports take the same generated name.
        const existing = await findSaved(trx, digest, target?.id)
        if (existing) return {existing}
        if (!target) {
          name ||= await ctx.freeName(trx, importName(input.path, parsed))
          await insertSession(trx, {...emptyRow(id, name, parsed.kind, parsed.meta.createdAt ?? now), status: 'completed'}, tags)
        }
        const current = await trx.selectFrom('sessions').select('version_count').where('id', '=', id).executeTakeFirstOrThrow()
        const version = Number(current.version_count) + 1
        await trx
          .insertInto('versions')
          .values({...blob, created_at: now, damage: JSON.stringify(parsed.damage), format: parsed.format, session_id: id, version})
          .execute()
        await replaceContent(ctx, trx, id, parsed)
        await trx.updateTable('sessions').set(indexFields(parsed, bytes.length, version, now)).where('id', '=', id).execute()
        return {version}
      },
      explicit === undefined ? undefined : {name: explicit},
    )
    if (result.existing) await ctx.discardBlob(written)
    return result
  })
  if (outcome.existing) return {...outcome.existing, format: parsed.format, redacted}
  const session = await getSession(ctx, id)
  if (!target) await ctx.bus.emit('session.created', {session})
  await ctx.bus.emit('session.saved', {created: !target, session, version: outcome.version})
  return {
    created: !target,
    damage: parsed.damage,
    format: parsed.format,
    name,
    notice: parsed.notice,
    records: parsed.records.length,
    redacted,
    sessionId: id,
    unchanged: false,
    version: outcome.version,
  }
}

/** See `Store.versions`. */
export async function listVersions(ctx: StoreContext, ref: string, includeTrashed = false): Promise<VersionInfo[]> {
  const {id} = await ctx.row(ref, includeTrashed)
  const rows = await ctx.db.selectFrom('versions').selectAll().where('session_id', '=', id).orderBy('version').execute()
  return rows.map((row) => ({
    bytes: Number(row.bytes),
    codec: row.codec === 'zstd' || row.codec === 'gzip' ? row.codec : null,
    createdAt: Number(row.created_at),
    damage: JSON.parse(row.damage) as Damage[],
    format: row.format,
    sha256: row.sha256,
    storedBytes: Number(row.stored_bytes ?? row.bytes),
    version: Number(row.version),
  }))
}

/** The live session (or `within` only) that already holds an original with this SHA-256, as a save result. */
async function findSaved(trx: Kysely<Database>, sha256: string, within: string | undefined): Promise<Omit<SaveResult, 'format' | 'redacted'> | undefined> {
  const existing = await trx
    .selectFrom('versions')
    .innerJoin('sessions', 'sessions.id', 'versions.session_id')
    .select(['sessions.id', 'sessions.name', 'versions.version', 'versions.damage', 'sessions.record_count'])
    .where('versions.sha256', '=', sha256)
    .where('sessions.trashed_at', 'is', null)
    .$if(within !== undefined, (q) => q.where('sessions.id', '=', within!))
    .orderBy('versions.version', 'desc')
    .executeTakeFirst()
  if (!existing) return undefined
  return {
    created: false,
    damage: JSON.parse(existing.damage) as Damage[],
    name: existing.name,
    records: Number(existing.record_count),
    sessionId: existing.id,
    unchanged: true,
    version: Number(existing.version),
  }
}

/** Replaces a session's transcript (and its entries in the search index) and output buffer with those of `parsed`. */
async function replaceContent(ctx: StoreContext, trx: Kysely<Database>, id: string, parsed: ParsedSession): Promise<void> {
  await trx.deleteFrom('records').where('session_id', '=', id).execute()
  await ctx.search.remove(trx, id)
  const records = parsed.records.map((record, index) => ({body: JSON.stringify(record), seq: index + 1, session_id: id, ts: record.ts ?? null, type: record.type}))
  await insertInBatches(trx, 'records', records)
  await ctx.search.index(trx, parsed.records.map((record, index) => ({record, seq: index + 1, sessionId: id})))
  await trx.deleteFrom('output_events').where('session_id', '=', id).execute()
  const output = parsed.output.map((event, index) => ({bytes: byteLength(event.data), code: event.code, data: event.data, seq: index + 1, session_id: id, time: event.time}))
  await insertInBatches(trx, 'output_events', output)
  // A new version's buffer starts afresh: numbered from 1, nothing evicted (its own bound stays).
  await trx.updateTable('output_buffers').set({evicted_bytes: 0, evicted_events: 0, last_seq: output.length}).where('session_id', '=', id).execute()
}

/** Index fields a save sets from the parse of the original. */
function indexFields(parsed: ParsedSession, bytes: number, version: number, now: number): Partial<SessionRow> {
  const meta = parsed.meta
  return {
    bytes,
    cwd: meta.cwd ?? null,
    external_id: meta.externalId ?? null,
    format: parsed.format,
    last_activity_at: meta.lastActivityAt ?? meta.createdAt ?? now,
    model: meta.model ?? null,
    output_bytes: parsed.output.reduce((sum, event) => sum + byteLength(event.data), 0),
    provider: meta.provider ?? null,
    record_count: parsed.records.length,
    title: meta.title ?? null,
    tokens: meta.tokens ?? null,
    version_count: version,
  }
}

/** A name for an imported session: the one the original carries, else the file's stem (without a compression suffix), else its title, else its format. */
function importName(path: string | undefined, parsed: ParsedSession): string {
  const stem = path?.split('/').pop()?.replace(/\.(zst|gz)$/i, '').replace(/\.(jsonl|json|cast|txt)$/i, '')
  return toSessionName(parsed.meta.name ?? '') ?? toSessionName(stem ?? '') ?? toSessionName(parsed.meta.title ?? '') ?? parsed.format
}
