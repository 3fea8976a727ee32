import {type Kysely, type Selectable, type Transaction} from 'kysely'
import {monotonicFactory} from 'ulid'
import type {LifecycleBus} from '../bus/index.ts'
import {type MigrationState, migrateToLatest, migrationStatus} from '../db/migrate.ts'
import type {Database, SessionsTable} from '../db/schema.ts'
import {ConflictError, InvalidInputError, NotFoundError, SessError, StorageError} from '../errors/index.ts'
import {currentOwner} from '../os/process.ts'
import type {ExportSession} from '../session/format.ts'
import {assertValidName, toSessionName} from '../session/names.ts'
import {assertTransition, type SessionStatus} from '../session/status.ts'
import type {Damage, OutputEvent, Session, SessionRecord, StoredRecord} from '../session/types.ts'
import type {BlobStore} from './blob-store.ts'
import {applyListFilter, globMatches, type ListFilter} from './list-filter.ts'
import {assertOutputEvent, assertRecord, assertTags, encodeState} from './validate.ts'
import {toSession} from './rows.ts'
import type {CreateSessionInput, RestoreOptions, RestoreResult, SaveInput, SaveResult, VersionInfo} from './types.ts'

const SESSION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/
const INSERT_BATCH = 200

/** Default bound of a session's output buffer, in bytes (DESIGN §2). */
export const DEFAULT_OUTPUT_LIMIT = 10 * 1024 * 1024

/** Default number of snapshots kept per session. */
export const DEFAULT_SNAPSHOTS_KEPT = 10

/** What a {@link Store} is built from; see `openStore()`. */
export interface StoreParts {
  home: string
  /** Taken (flock) while migrations run. */
  migrateLock: string
  db: Kysely<Database>
  blobs: BlobStore
  bus: LifecycleBus
  /** Clock, ms since the epoch (tests inject one). */
  now: () => number
  /** Warnings from opening (e.g. permissions fixed). */
  warnings: string[]
}

/**
 * A session store (DESIGN §4). Every operation the CLI offers goes through it. Obtain one with
 * `openStore()`; close it with `close()` or `await using`.
 *
 * Durability: a write resolves once it is committed — a SQLite WAL commit with `synchronous=FULL`
 * for index and transcript rows, an fsynced temp file renamed into place for blobs — and is then
 * wholly there after a crash at any instant, or, if it had not resolved, wholly absent.
 *
 * @example
 * ```ts
 * await using store = await openStore()
 * const session = await store.create({name: 'demo', kind: 'chat'})
 * await store.append(session.id, {type: 'message', role: 'user', parts: [{type: 'text', text: 'hi'}]})
 * ```
 */
export class Store implements AsyncDisposable {
  /** The home directory of this store. */
  readonly home: string
  /** The lifecycle bus of this store: register handlers with `bus.plugin(name).on(…)`. */
  readonly bus: LifecycleBus
  /** Things the user should know about the store itself (e.g. permissions fixed on open). */
  readonly warnings: readonly string[]
  readonly #db: Kysely<Database>
  readonly #blobs: BlobStore
  readonly #now: () => number
  readonly #migrateLock: string
  readonly #newId = monotonicFactory()
  #closed = false

  constructor(parts: StoreParts) {
    this.home = parts.home
    this.bus = parts.bus
    this.warnings = parts.warnings
    this.#db = parts.db
    this.#blobs = parts.blobs
    this.#now = parts.now
    this.#migrateLock = parts.migrateLock
  }

  /** Every schema migration and whether it is applied, oldest first (`sess migrate --status`). */
  async migrationStatus(): Promise<MigrationState[]> {
    return migrationStatus(this.#db)
  }

  /**
   * Applies pending schema migrations (`sess migrate`); stores opened normally are already current.
   *
   * @returns the names applied now.
   */
  async migrate(): Promise<string[]> {
    return migrateToLatest(this.#db, this.#migrateLock)
  }

  /**
   * Creates a live session owned by the calling process.
   *
   * @throws {InvalidInputError} for an invalid name or tag.
   * @throws {ConflictError} when the name is taken.
   */
  async create(input: CreateSessionInput = {}): Promise<Session> {
    const kind = input.kind ?? 'chat'
    const name = input.name === undefined ? await this.#freeName(`${kind}-${timestampName(this.#now())}`) : assertValidName(input.name)
    const tags = assertTags(input.tags ?? [])
    if (input.parentId !== undefined) await this.#row(input.parentId)
    const now = this.#now()
    const owner = currentOwner()
    const row: Selectable<SessionsTable> = {
      ...emptyRow(this.#newId(now), name, kind, now),
      cwd: input.cwd ?? null,
      model: input.model ?? null,
      owner_host: owner.host,
      owner_pid: owner.pid,
      owner_start_time: owner.startTime,
      parent_id: input.parentId ?? null,
      provider: input.provider ?? null,
      status: input.status ?? 'active',
      title: input.title ?? null,
    }
    await this.#write((trx) => insertSession(trx, row, tags), {name})
    const session = toSession(row, tags)
    await this.bus.emit('session.created', {session})
    return session
  }

  /**
   * A session by id or name.
   *
   * @throws {NotFoundError} when there is none (in the trash only with `includeTrashed`).
   */
  async get(ref: string, options: {includeTrashed?: boolean} = {}): Promise<Session> {
    const row = await this.#row(ref, options.includeTrashed)
    return toSession(row, await this.#tags(row.id))
  }

  /** Sessions matching `filter`, newest activity first. Reads the index only, never content. */
  async list(filter: ListFilter = {}): Promise<Session[]> {
    let query = applyListFilter(this.#db.selectFrom('sessions').selectAll('sessions'), filter)
    if (filter.limit !== undefined && filter.name === undefined) query = query.limit(filter.limit)
    let rows = await query.execute()
    if (filter.name !== undefined) {
      const glob = filter.name
      rows = rows.filter((row) => globMatches(glob, row.name)).slice(0, filter.limit ?? rows.length)
    }
    const tags = await this.#tagsOf(rows.map((row) => row.id))
    return rows.map((row) => toSession(row, tags.get(row.id) ?? []))
  }

  /**
   * Renames a session.
   *
   * @throws {InvalidInputError} for an invalid name. @throws {ConflictError} when it is taken.
   */
  async rename(ref: string, newName: string): Promise<Session> {
    assertValidName(newName)
    const row = await this.#row(ref)
    await this.#write((trx) => trx.updateTable('sessions').set({name: newName}).where('id', '=', row.id).execute(), {name: newName})
    return this.get(row.id)
  }

  /**
   * Moves a session to `status` through the one state machine; emits `session.status_changed`.
   *
   * @throws {InvalidTransitionError} when the move is not allowed.
   */
  async setStatus(ref: string, status: SessionStatus): Promise<Session> {
    const id = (await this.#row(ref)).id
    const now = this.#now()
    const from = await this.#write(async (trx) => {
      const current = await trx.selectFrom('sessions').select('status').where('id', '=', id).executeTakeFirstOrThrow()
      const previous = current.status as SessionStatus
      if (!assertTransition(previous, status)) return undefined
      const closing = status === 'completed' || status === 'terminated'
      await trx
        .updateTable('sessions')
        .set({closed_at: closing ? now : null, last_activity_at: now, status})
        .where('id', '=', id)
        .execute()
      return previous
    })
    const session = await this.get(id)
    if (from !== undefined) await this.bus.emit('session.status_changed', {from, session, to: status})
    return session
  }

  /**
   * Appends a record to a session's transcript. Durable once it resolves.
   *
   * @returns the record's sequence number (1-based).
   * @throws {InvalidInputError} when `record` is not a valid record.
   */
  async append(ref: string, record: SessionRecord): Promise<number> {
    const body = assertRecord(record)
    const id = await this.#id(ref)
    const now = this.#now()
    const seq = await this.#write(async (trx) => {
      const {record_count} = await trx.selectFrom('sessions').select('record_count').where('id', '=', id).executeTakeFirstOrThrow()
      const next = Number(record_count) + 1
      await trx.insertInto('records').values({body, seq: next, session_id: id, ts: record.ts ?? null, type: record.type}).execute()
      await trx
        .updateTable('sessions')
        .set((eb) => ({bytes: eb('bytes', '+', byteLength(body)), last_activity_at: now, record_count: next}))
        .where('id', '=', id)
        .execute()
      return next
    })
    await this.bus.emit('record.appended', {record, seq, sessionId: id})
    return seq
  }

  /**
   * Appends a timed terminal event to a session's output buffer, evicting the oldest whole events
   * once the buffer exceeds its bound ({@link DEFAULT_OUTPUT_LIMIT}).
   *
   * @returns the event's sequence number.
   */
  async appendOutput(ref: string, event: OutputEvent): Promise<number> {
    assertOutputEvent(event)
    const id = await this.#id(ref)
    const now = this.#now()
    const size = byteLength(event.data)
    const seq = await this.#write(async (trx) => {
      const last = await trx.selectFrom('output_events').select((eb) => eb.fn.max('seq').as('seq')).where('session_id', '=', id).executeTakeFirst()
      const next = Number(last?.seq ?? 0) + 1
      await trx.insertInto('output_events').values({bytes: size, code: event.code, data: event.data, seq: next, session_id: id, time: event.time}).execute()
      const {output_bytes} = await trx
        .updateTable('sessions')
        .set((eb) => ({last_activity_at: now, output_bytes: eb('output_bytes', '+', size)}))
        .where('id', '=', id)
        .returning('output_bytes')
        .executeTakeFirstOrThrow()
      if (Number(output_bytes) > DEFAULT_OUTPUT_LIMIT) await evictOutput(trx, id, Number(output_bytes) - DEFAULT_OUTPUT_LIMIT)
      return next
    })
    await this.bus.emit('output.appended', {event, seq, sessionId: id})
    return seq
  }

  /**
   * Saves application state atomically as the session's newest snapshot, keeping the last
   * `keep` (default {@link DEFAULT_SNAPSHOTS_KEPT}). A string is stored as UTF-8, a `Uint8Array`
   * as is, anything else as JSON.
   *
   * @returns the snapshot's sequence number.
   */
  async snapshot(ref: string, state: unknown, options: {keep?: number} = {}): Promise<number> {
    const keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT
    if (!Number.isInteger(keep) || keep < 1) throw new InvalidInputError(`keep must be a whole number ≥ 1, not ${keep}.`)
    const bytes = encodeState(state)
    const id = await this.#id(ref)
    const blob = await this.#blobs.put(id, bytes)
    const now = this.#now()
    let pruned: string[] = []
    const seq = await this.#writeWithBlob(id, blob.blob, async (trx) => {
      const last = await trx.selectFrom('snapshots').select((eb) => eb.fn.max('seq').as('seq')).where('session_id', '=', id).executeTakeFirst()
      const next = Number(last?.seq ?? 0) + 1
      await trx.insertInto('snapshots').values({...blob, created_at: now, seq: next, session_id: id}).execute()
      const old = await trx.selectFrom('snapshots').select(['seq', 'blob']).where('session_id', '=', id).where('seq', '<=', next - keep).execute()
      if (old.length > 0) await trx.deleteFrom('snapshots').where('session_id', '=', id).where('seq', '<=', next - keep).execute()
      await trx.updateTable('sessions').set({last_activity_at: now}).where('id', '=', id).execute()
      pruned = old.map((row) => row.blob)
      return next
    })
    for (const old of pruned) await this.#blobs.delete(id, old)
    return seq
  }

  /**
   * The newest snapshot's bytes (or snapshot `seq`).
   *
   * @throws {NotFoundError} when the session has no such snapshot.
   */
  async latestSnapshot(ref: string, seq?: number): Promise<{seq: number; bytes: Uint8Array}> {
    const id = await this.#id(ref)
    let query = this.#db.selectFrom('snapshots').selectAll().where('session_id', '=', id)
    query = seq === undefined ? query.orderBy('seq', 'desc').limit(1) : query.where('seq', '=', seq)
    const row = await query.executeTakeFirst()
    if (!row) throw new NotFoundError(`Session ${ref} has no snapshot${seq === undefined ? '' : ` ${seq}`}.`)
    return {bytes: await this.#blobs.get(id, {...row, bytes: Number(row.bytes)}), seq: Number(row.seq)}
  }

  /**
   * Imports an original (a Claude Code, Codex, Gemini CLI, asciicast, sess or raw JSON file) as a
   * new session or as a new version of `input.into`. Runs `session.saving` (handlers may redact or
   * veto; the persistence plugin parses), stores the bytes as they are, and indexes the parse.
   * Idempotent: bytes already saved give `unchanged: true` and write nothing.
   *
   * @throws {InvalidInputError} when no format handler recognises the bytes.
   * @throws {VetoError} when a plugin vetoes.
   */
  async save(input: SaveInput): Promise<SaveResult> {
    const payload = await this.bus.before('session.saving', {
      allowRaw: input.allowRaw ?? true,
      bytes: input.bytes,
      format: input.format,
      path: input.path,
    })
    const parsed = payload.parsed
    if (!parsed) {
      throw new InvalidInputError(`${input.path ?? 'The input'} is not a session file sess can read${payload.rejection ? `: ${payload.rejection}` : '.'}`, {
        hint: 'Supported: Claude Code, Codex, Gemini CLI, asciicast, sess JSONL, and (named directly) any JSON/JSONL file. Use --format to force one.',
      })
    }
    const bytes = payload.bytes
    const tags = assertTags(input.tags ?? [])
    const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
    const target = input.into === undefined ? undefined : await this.#row(input.into)
    if (target && target.version_count === 0) {
      throw new InvalidInputError(`Session ${target.name} was recorded by an application, not imported; it has no versions to add to.`, {
        hint: 'Save into a new session instead (drop --session).',
      })
    }
    const existing = await this.#db
      .selectFrom('versions')
      .innerJoin('sessions', 'sessions.id', 'versions.session_id')
      .select(['sessions.id', 'sessions.name', 'versions.version', 'versions.damage', 'sessions.record_count'])
      .where('versions.sha256', '=', sha256)
      .where('sessions.trashed_at', 'is', null)
      .$if(target !== undefined, (q) => q.where('sessions.id', '=', target!.id))
      .orderBy('versions.version', 'desc')
      .executeTakeFirst()
    if (existing) {
      return {
        created: false,
        damage: JSON.parse(existing.damage) as Damage[],
        format: parsed.format,
        name: existing.name,
        records: Number(existing.record_count),
        sessionId: existing.id,
        unchanged: true,
        version: Number(existing.version),
      }
    }
    const now = this.#now()
    const id = target?.id ?? this.#newId(now)
    const name = target?.name ?? (input.name === undefined ? await this.#freeName(importName(input.path, parsed.meta.title, parsed.format)) : assertValidName(input.name))
    const blob = await this.#blobs.put(id, bytes)
    const meta = parsed.meta
    const recordBodies = parsed.records.map((record) => ({body: JSON.stringify(record), record}))
    const outputBytes = parsed.output.reduce((sum, event) => sum + byteLength(event.data), 0)
    const version = await this.#writeWithBlob(id, blob.blob, async (trx) => {
      if (!target) {
        await insertSession(trx, {...emptyRow(id, name, parsed.kind, meta.createdAt ?? now), status: 'completed'}, tags)
      }
      const current = await trx.selectFrom('sessions').select('version_count').where('id', '=', id).executeTakeFirstOrThrow()
      const next = Number(current.version_count) + 1
      await trx
        .insertInto('versions')
        .values({...blob, created_at: now, damage: JSON.stringify(parsed.damage), format: parsed.format, session_id: id, version: next})
        .execute()
      await trx.deleteFrom('records').where('session_id', '=', id).execute()
      for (let start = 0; start < recordBodies.length; start += INSERT_BATCH) {
        const batch = recordBodies.slice(start, start + INSERT_BATCH)
        await trx
          .insertInto('records')
          .values(batch.map(({body, record}, index) => ({body, seq: start + index + 1, session_id: id, ts: record.ts ?? null, type: record.type})))
          .execute()
      }
      await trx.deleteFrom('output_events').where('session_id', '=', id).execute()
      for (let start = 0; start < parsed.output.length; start += INSERT_BATCH) {
        const batch = parsed.output.slice(start, start + INSERT_BATCH)
        await trx
          .insertInto('output_events')
          .values(batch.map((event, index) => ({bytes: byteLength(event.data), code: event.code, data: event.data, seq: start + index + 1, session_id: id, time: event.time})))
          .execute()
      }
      await trx
        .updateTable('sessions')
        .set({
          bytes: bytes.length,
          cwd: meta.cwd ?? null,
          external_id: meta.externalId ?? null,
          format: parsed.format,
          last_activity_at: meta.lastActivityAt ?? meta.createdAt ?? now,
          model: meta.model ?? null,
          output_bytes: outputBytes,
          provider: meta.provider ?? null,
          record_count: recordBodies.length,
          title: meta.title ?? null,
          tokens: meta.tokens ?? null,
          version_count: next,
        })
        .where('id', '=', id)
        .execute()
      return next
    }, {name})
    const session = await this.get(id)
    if (!target) await this.bus.emit('session.created', {session})
    await this.bus.emit('session.saved', {created: !target, session, version})
    return {
      created: !target,
      damage: parsed.damage,
      format: parsed.format,
      name,
      notice: parsed.notice,
      records: recordBodies.length,
      sessionId: id,
      unchanged: false,
      version,
    }
  }

  /** The saved versions of an imported session, oldest first. */
  async versions(ref: string, options: {includeTrashed?: boolean} = {}): Promise<VersionInfo[]> {
    const id = (await this.#row(ref, options.includeTrashed)).id
    const rows = await this.#db.selectFrom('versions').selectAll().where('session_id', '=', id).orderBy('version').execute()
    return rows.map((row) => ({
      bytes: Number(row.bytes),
      createdAt: Number(row.created_at),
      damage: JSON.parse(row.damage) as Damage[],
      format: row.format,
      sha256: row.sha256,
      version: Number(row.version),
    }))
  }

  /**
   * Transcript records in order, streamed from the database (never the whole session in memory).
   *
   * @param options.after only records with `seq` greater than this; `options.last`: only the last N.
   */
  async *records(ref: string, options: {after?: number; last?: number; includeTrashed?: boolean} = {}): AsyncGenerator<StoredRecord> {
    const row = await this.#row(ref, options.includeTrashed)
    const after = options.last === undefined ? (options.after ?? 0) : Math.max(options.after ?? 0, Number(row.record_count) - options.last)
    const rows = this.#db.selectFrom('records').select(['seq', 'body']).where('session_id', '=', row.id).where('seq', '>', after).orderBy('seq').stream(256)
    for await (const record of rows) yield {record: JSON.parse(record.body) as SessionRecord, seq: Number(record.seq)}
  }

  /** The output buffer's events in order, streamed. */
  async *output(ref: string, options: {includeTrashed?: boolean} = {}): AsyncGenerator<OutputEvent> {
    const id = (await this.#row(ref, options.includeTrashed)).id
    const rows = this.#db.selectFrom('output_events').select(['time', 'code', 'data']).where('session_id', '=', id).orderBy('seq').stream(256)
    for await (const row of rows) yield {code: row.code as OutputEvent['code'], data: row.data, time: Number(row.time)}
  }

  /**
   * Writes a session back out: its saved original byte for byte when `format` is its original
   * format (the default), else converted through `session.restoring` (the persistence plugin
   * serializes: `sess`, `markdown`, `asciicast`).
   *
   * @throws {NotFoundError} for an unknown session or version.
   * @throws {InvalidInputError} when no handler can write `format`.
   */
  async restore(ref: string, options: RestoreOptions = {}): Promise<RestoreResult> {
    const session = await this.get(ref, {includeTrashed: options.fromTrash})
    const format = options.format ?? session.format ?? 'sess'
    const original = format === session.format ? await this.#original(session, options.version) : undefined
    if (options.version !== undefined && original === undefined) {
      throw new InvalidInputError('--version restores a saved original; it cannot be combined with a conversion.', {
        hint: `Drop --format, or use --format ${session.format ?? 'sess'}.`,
      })
    }
    const payload = await this.bus.before('session.restoring', {
      asciicastVersion: options.asciicastVersion,
      bytes: original,
      format,
      load: () => this.#export(session),
      session,
    })
    if (!payload.bytes) {
      throw new InvalidInputError(`sess cannot write ${session.kind} session ${session.name} as ${format}.`, {
        hint: 'Formats: sess, markdown, asciicast (terminal sessions), or the session\'s own original format.',
      })
    }
    await this.bus.emit('session.restored', {bytes: payload.bytes.length, format, session})
    return {bytes: payload.bytes, format, original: original !== undefined && payload.bytes === original}
  }

  /**
   * Creates a new session from a saved one: same transcript, output buffer, latest original and
   * tags, `parentId` set, status `active`.
   *
   * @throws {ConflictError} when `name` is taken.
   */
  async fork(ref: string, name: string): Promise<Session> {
    assertValidName(name)
    const source = await this.#row(ref)
    const tags = await this.#tags(source.id)
    const now = this.#now()
    const id = this.#newId(now)
    const latest = await this.#db.selectFrom('versions').selectAll().where('session_id', '=', source.id).orderBy('version', 'desc').limit(1).executeTakeFirst()
    const blob = latest ? await this.#blobs.put(id, await this.#blobs.get(source.id, {...latest, bytes: Number(latest.bytes)})) : undefined
    const owner = currentOwner()
    const row: Selectable<SessionsTable> = {
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
      status: 'active',
      trashed_at: null,
      version_count: latest ? 1 : 0,
    }
    await this.#writeWithBlob(id, blob?.blob, async (trx) => {
      await insertSession(trx, row, tags)
      if (latest && blob) await trx.insertInto('versions').values({...latest, ...blob, created_at: now, session_id: id, version: 1}).execute()
      await copyRows(trx, 'records', source.id, id)
      await copyRows(trx, 'output_events', source.id, id)
    }, {name})
    const session = toSession(row, tags)
    await this.bus.emit('session.created', {session})
    return session
  }

  /**
   * Moves a session to the trash (recoverable with {@link untrash}), or with `purge` deletes it
   * and its content at once.
   */
  async remove(ref: string, options: {purge?: boolean} = {}): Promise<Session> {
    const row = await this.#row(ref, options.purge)
    const session = toSession(row, await this.#tags(row.id))
    if (options.purge) {
      await this.#write((trx) => trx.deleteFrom('sessions').where('id', '=', row.id).execute())
      await this.#blobs.deleteSession(row.id)
    } else {
      await this.#write((trx) => trx.updateTable('sessions').set({trashed_at: this.#now()}).where('id', '=', row.id).execute())
    }
    await this.bus.emit('session.removed', {purged: options.purge === true, session})
    return session
  }

  /**
   * Brings a session back from the trash.
   *
   * @throws {NotFoundError} when it is not in the trash. @throws {ConflictError} when its name was taken meanwhile.
   */
  async untrash(ref: string): Promise<Session> {
    const row = await this.#row(ref, true)
    if (row.trashed_at === null) throw new NotFoundError(`Session ${row.name} is not in the trash.`)
    await this.#write((trx) => trx.updateTable('sessions').set({trashed_at: null}).where('id', '=', row.id).execute(), {
      hint: 'Rename the other session first (sess rename).',
      name: row.name,
    })
    return this.get(row.id)
  }

  /** Closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#db.destroy()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #export(session: Session): Promise<ExportSession> {
    const records: SessionRecord[] = []
    for await (const {record} of this.records(session.id, {includeTrashed: true})) records.push(record)
    const output: OutputEvent[] = []
    for await (const event of this.output(session.id, {includeTrashed: true})) output.push(event)
    return {output, records, session}
  }

  async #original(session: Session, version?: number): Promise<Uint8Array | undefined> {
    if (session.versionCount === 0) return undefined
    let query = this.#db.selectFrom('versions').selectAll().where('session_id', '=', session.id)
    query = version === undefined ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version)
    const row = await query.executeTakeFirst()
    if (!row) throw new NotFoundError(`Session ${session.name} has no version ${version}; it has ${session.versionCount}.`)
    return this.#blobs.get(session.id, {...row, bytes: Number(row.bytes)})
  }

  async #id(ref: string): Promise<string> {
    return (await this.#row(ref)).id
  }

  /** The index row of a session by id or name: a live session first, else (if asked) the one most recently trashed. */
  async #row(ref: string, includeTrashed = false): Promise<Selectable<SessionsTable>> {
    this.#assertOpen()
    if (typeof ref !== 'string' || ref.length === 0) throw new InvalidInputError('A session id or name is required.')
    const byRef = this.#db.selectFrom('sessions').selectAll().where(SESSION_ID.test(ref) ? 'id' : 'name', '=', ref)
    const row =
      (await byRef.where('trashed_at', 'is', null).executeTakeFirst()) ??
      (includeTrashed ? await byRef.where('trashed_at', 'is not', null).orderBy('trashed_at', 'desc').limit(1).executeTakeFirst() : undefined)
    if (!row) {
      throw new NotFoundError(`No session ${JSON.stringify(ref)}${includeTrashed ? '' : ' (outside the trash)'}.`, {
        hint: includeTrashed ? 'See `sess list` for names.' : 'See `sess list` for names, or `sess list --trash` for removed sessions.',
      })
    }
    return row
  }

  async #tags(id: string): Promise<string[]> {
    return (await this.#tagsOf([id])).get(id) ?? []
  }

  async #tagsOf(ids: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>()
    if (ids.length === 0) return result
    const rows = await this.#db.selectFrom('session_tags').select(['session_id', 'tag']).where('session_id', 'in', ids).orderBy('tag').execute()
    for (const row of rows) result.set(row.session_id, [...(result.get(row.session_id) ?? []), row.tag])
    return result
  }

  /** `base`, or `base-2`, `base-3`… whichever is free among live sessions. */
  async #freeName(base: string): Promise<string> {
    const stem = base.slice(0, 56)
    const taken = new Set(
      (await this.#db.selectFrom('sessions').select('name').where('trashed_at', 'is', null).where('name', 'like', `${stem}%`).execute()).map((r) => r.name),
    )
    if (!taken.has(stem)) return stem
    for (let n = 2; ; n++) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`
  }

  /**
   * Runs `work` in a write transaction (the commit is the durability point).
   *
   * @param name the session name the transaction may claim: a clash becomes a {@link ConflictError}.
   */
  async #write<T>(work: (trx: Transaction<Database>) => Promise<T>, name?: {name: string; hint?: string}): Promise<T> {
    this.#assertOpen()
    try {
      return await this.#db.transaction().execute(work)
    } catch (error) {
      if (error instanceof SessError) throw error
      if (name && isUniqueViolation(error)) {
        throw new ConflictError(`A session named ${name.name} already exists.`, {hint: name.hint ?? 'Choose another name, or `sess rm` the other session.'})
      }
      throw new StorageError(`The store's database failed: ${(error as Error).message}`, {cause: error, hint: 'Run `sess doctor`.'})
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError('The store is closed.', {hint: 'Open it again with openStore().'})
  }

  /** {@link #write}, deleting the blob just written if the transaction does not commit. */
  async #writeWithBlob<T>(
    sessionId: string,
    blob: string | undefined,
    work: (trx: Transaction<Database>) => Promise<T>,
    name?: {name: string},
  ): Promise<T> {
    try {
      return await this.#write(work, name)
    } catch (error) {
      if (blob !== undefined) await this.#blobs.delete(sessionId, blob).catch(() => undefined)
      throw error
    }
  }
}

function emptyRow(id: string, name: string, kind: string, now: number): Selectable<SessionsTable> {
  return {
    bytes: 0,
    closed_at: null,
    created_at: now,
    cwd: null,
    external_id: null,
    format: null,
    id,
    kind,
    last_activity_at: now,
    model: null,
    name,
    output_bytes: 0,
    owner_host: null,
    owner_pid: null,
    owner_start_time: null,
    parent_id: null,
    provider: null,
    record_count: 0,
    status: 'active',
    title: null,
    tokens: null,
    trashed_at: null,
    version_count: 0,
  }
}

async function insertSession(trx: Transaction<Database>, row: Selectable<SessionsTable>, tags: string[]): Promise<void> {
  await trx.insertInto('sessions').values(row).execute()
  if (tags.length > 0) await trx.insertInto('session_tags').values(tags.map((tag) => ({session_id: row.id, tag}))).execute()
}

async function copyRows(trx: Transaction<Database>, table: 'records' | 'output_events', from: string, to: string): Promise<void> {
  const rows = await trx.selectFrom(table).selectAll().where('session_id', '=', from).orderBy('seq').execute()
  for (let start = 0; start < rows.length; start += INSERT_BATCH) {
    await trx
      .insertInto(table)
      .values(rows.slice(start, start + INSERT_BATCH).map((row) => ({...row, session_id: to})) as never)
      .execute()
  }
}

/** Deletes the oldest whole output events until at least `excess` bytes are freed. */
async function evictOutput(trx: Transaction<Database>, id: string, excess: number): Promise<void> {
  let freed = 0
  let cutoff = 0
  const oldest = trx.selectFrom('output_events').select(['seq', 'bytes']).where('session_id', '=', id).orderBy('seq').stream(256)
  for await (const row of oldest) {
    freed += Number(row.bytes)
    cutoff = Number(row.seq)
    if (freed >= excess) break
  }
  await trx.deleteFrom('output_events').where('session_id', '=', id).where('seq', '<=', cutoff).execute()
  await trx.updateTable('sessions').set((eb) => ({output_bytes: eb('output_bytes', '-', freed)})).where('id', '=', id).execute()
}

function importName(path: string | undefined, title: string | undefined, format: string): string {
  const stem = path?.split('/').pop()?.replace(/\.(jsonl|json|cast|txt)$/i, '')
  return toSessionName(stem ?? '') ?? toSessionName(title ?? '') ?? format
}

function timestampName(now: number): string {
  return new Date(now).toISOString().replaceAll(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

function isUniqueViolation(error: unknown): boolean {
  const text = String((error as {code?: string})?.code ?? '') + String((error as Error)?.message ?? '')
  return /SQLITE_CONSTRAINT_UNIQUE|UNIQUE constraint failed|23505|duplicate key/.test(text)
}
