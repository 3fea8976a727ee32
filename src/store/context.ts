import {CompiledQuery, type Insertable, type Kysely, type Selectable} from 'kysely'
import {monotonicFactory} from 'ulid'
import type {LifecycleBus} from '../bus/index.ts'
import type {DialectName} from '../db/dialect.ts'
import {PreparedQueries} from '../db/prepared.ts'
import type {Database, SessionsTable} from '../db/schema.ts'
import {ConflictError, type DiskFullError, InvalidInputError, NotFoundError, SessError, StorageError} from '../errors/index.ts'
import {awaitUnlocked} from '../lock/contention.ts'
import {LockBusyError} from '../lock/fence.ts'
import {diskFullError, isDiskFull} from '../os/disk-space.ts'
import type {LeaseRef} from '../lock/token.ts'
import type {SearchIndex} from '../search/search-index.ts'
import {isSessionId} from '../session/names.ts'
import type {BlobStore} from './blob-store.ts'
import {ContentLock} from './locks/content-lock.ts'
import type {LockSpace} from './locks/lock-space.ts'
import {DEFAULT_OUTPUT_LIMIT} from './output-limit.ts'

const COMMIT = CompiledQuery.raw('commit')
const ROLLBACK = CompiledQuery.raw('rollback')

/** Rows per multi-row INSERT (well under SQLite's and PostgreSQL's bound-parameter limits). */
const INSERT_BATCH = 200

/** A blob just written for a write that may not commit. */
export interface WrittenBlob {
  sessionId: string
  blob?: string
  /** Whether the session itself is being created by that write. */
  newSession: boolean
}

/** An index row of `sessions`. */
export type SessionRow = Selectable<SessionsTable>

/** What a {@link StoreContext} is built from. */
export interface StoreContextParts {
  /** The engine of the metadata database. */
  dialect: DialectName
  /** The store's home directory (whose disk the database's writes need). */
  home: string
  db: Kysely<Database>
  beginWrite: string
  /** The database again, for lock rows: commits not flushed (see `MetadataDatabase.relaxedDb`). */
  relaxedDb: Kysely<Database>
  blobs: BlobStore
  bus: LifecycleBus
  now: () => number
  /** How long a write that holds no lease waits for another holder's lock, ms. */
  lockWait: number
  /** Leases held by other processes that this one writes under (`SESS_LOCK_TOKEN`). */
  adoptedLeases: readonly LeaseRef[]
  /** Bound of an output buffer without its own, in bytes; default {@link DEFAULT_OUTPUT_LIMIT}. */
  outputLimit?: number
  /** Releases the database's handles once both Kyselys are destroyed (see `MetadataDatabase.close`). */
  closeDatabase: () => void
  /** Where the store-wide locks live (flock files, or advisory locks in PostgreSQL); closed with the store. */
  locks: LockSpace
  /** The full-text index of transcripts, written in the same transactions as the records. */
  search: SearchIndex
}

/** What the store's operations share: the database, blobs, bus, clock, leases and the write path. */
export class StoreContext {
  /** The engine of the metadata database: `postgres` when the store is shared (DESIGN §8). */
  readonly dialect: DialectName
  /** The store's home directory. */
  readonly home: string
  readonly db: Kysely<Database>
  readonly blobs: BlobStore
  readonly bus: LifecycleBus
  /** Clock, ms since the epoch. */
  readonly now: () => number
  /** A new ULID for time `now` (monotonic within a millisecond). */
  readonly newId = monotonicFactory()
  /** Bound of an output buffer without its own, in bytes. */
  readonly outputLimit: number
  /** Hot-path queries, compiled once for this store's dialect (shared by {@link db} and the relaxed connection: same dialect, same SQL). */
  readonly prepared = new PreparedQueries()
  /** The leases this store writes under, by session id: its own grants and adopted tokens (see `checkFence`). */
  readonly leases = new Map<string, LeaseRef>()
  /** How long a write that holds no lease waits for another holder's lock, ms. */
  readonly lockWait: number
  /** The store-wide locks: `content` (through {@link content}) and `gc`. */
  readonly locks: LockSpace
  /** Held shared by a write from its blob's first byte until its row commits; exclusive by a sweep for litter. */
  readonly content: ContentLock
  /** The full-text index of transcripts: every write of records indexes them in its own transaction. */
  readonly search: SearchIndex
  /** The statement that starts a write transaction (SQLite: `begin immediate`). */
  readonly beginWrite: string
  readonly #beginWrite: CompiledQuery
  readonly #relaxedDb: Kysely<Database>
  readonly #beforeClose = new Set<() => Promise<unknown>>()
  readonly #closeDatabase: () => void
  #closed = false

  constructor(parts: StoreContextParts) {
    this.dialect = parts.dialect
    this.home = parts.home
    this.db = parts.db
    this.outputLimit = parts.outputLimit ?? DEFAULT_OUTPUT_LIMIT
    this.beginWrite = parts.beginWrite
    this.#beginWrite = CompiledQuery.raw(parts.beginWrite)
    this.#relaxedDb = parts.relaxedDb
    this.blobs = parts.blobs
    this.bus = parts.bus
    this.now = parts.now
    this.lockWait = parts.lockWait
    this.#closeDatabase = parts.closeDatabase
    this.locks = parts.locks
    this.content = new ContentLock(parts.locks)
    this.search = parts.search
    for (const lease of parts.adoptedLeases) this.leases.set(lease.sessionId, lease)
  }

  /** Runs what was registered with {@link beforeClose} (e.g. releasing held leases), then closes the database and the lock space. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    await Promise.allSettled([...this.#beforeClose].map((run) => run()))
    this.#closed = true
    try {
      await Promise.all([this.db.destroy(), this.#relaxedDb.destroy()])
      this.#closeDatabase()
    } finally {
      await this.locks.close()
    }
  }

  /**
   * Registers `run` to be awaited by {@link close} before the database closes.
   *
   * @returns a function that unregisters it.
   */
  beforeClose(run: () => Promise<unknown>): () => void {
    this.#beforeClose.add(run)
    return () => void this.#beforeClose.delete(run)
  }

  /** @throws {StorageError} once the store is closed. */
  assertOpen(): void {
    if (this.#closed) throw new StorageError('The store is closed.', {hint: 'Open it again with openStore().'})
  }

  /**
   * The index row of a session by id or name: a live session first, else (if asked) the one most
   * recently trashed.
   *
   * @throws {NotFoundError} when there is none.
   */
  async row(ref: string, includeTrashed = false): Promise<SessionRow> {
    this.assertOpen()
    if (typeof ref !== 'string' || ref.length === 0) throw new InvalidInputError('A session id or name is required.')
    const column = isSessionId(ref) ? 'id' : 'name'
    const live = await this.prepared.execute(
      this.db,
      `row.${column}`,
      (param) => this.db.selectFrom('sessions').selectAll().where(column, '=', param('ref')).where('trashed_at', 'is', null),
      {ref},
    )
    const byRef = this.db.selectFrom('sessions').selectAll().where(column, '=', ref)
    const row =
      live.rows[0] ?? (includeTrashed ? await byRef.where('trashed_at', 'is not', null).orderBy('trashed_at', 'desc').limit(1).executeTakeFirst() : undefined)
    if (!row) throw this.notFound(ref, includeTrashed)
    return row
  }

  /** The error for a session `ref` that does not exist (outside the trash, unless `includeTrashed`). */
  notFound(ref: string, includeTrashed = false): NotFoundError {
    return new NotFoundError(`No session ${JSON.stringify(ref)}${includeTrashed ? '' : ' (outside the trash)'}.`, {
      hint: includeTrashed ? 'See `sess list` for names.' : 'See `sess list` for names, or `sess list --trash` for removed sessions.',
    })
  }

  /** Tags of each of `ids`, sorted. */
  async tagsOf(ids: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>()
    if (ids.length === 0) return result
    const rows = await this.db.selectFrom('session_tags').select(['session_id', 'tag']).where('session_id', 'in', ids).orderBy('tag').execute()
    for (const row of rows) result.set(row.session_id, [...(result.get(row.session_id) ?? []), row.tag])
    return result
  }

  /**
   * Runs `work` in a write transaction on one connection; the commit is the durability point. A
   * failure that is not a {@link SessError} becomes a {@link StorageError}. (The transaction is
   * begun and committed with precompiled statements: Kysely's transaction builder costs more than
   * the rest of an append.)
   *
   * A `work` that writes to a session calls `checkFence` first. When another process's lease holds
   * that session's lock, the transaction is rolled back, the store waits up to {@link lockWait} ms
   * for the lock (the implicit short lock of a writer without a lease) and runs `work` again.
   *
   * @param claims the session name the transaction may take: a clash becomes a {@link ConflictError}.
   * @throws {LockError} when the lock stays held past the wait, or this store's own lease was lost.
   */
  async write<T>(work: (trx: Kysely<Database>) => Promise<T>, claims?: {name: string; hint?: string}): Promise<T> {
    let deadline: number | undefined
    for (;;) {
      try {
        return await this.#writeOnce(work, claims)
      } catch (error) {
        if (!(error instanceof LockBusyError)) throw error
        deadline ??= this.now() + this.lockWait
        await awaitUnlocked(this, error.row, deadline)
      }
    }
  }

  async #writeOnce<T>(work: (trx: Kysely<Database>) => Promise<T>, claims?: {name: string; hint?: string}): Promise<T> {
    this.assertOpen()
    let committing = false
    try {
      return await this.db.connection().execute(async (connection) => {
        await connection.executeQuery(this.#beginWrite)
        try {
          const result = await work(connection)
          committing = true
          await connection.executeQuery(COMMIT)
          return result
        } catch (error) {
          await connection.executeQuery(ROLLBACK).catch(() => undefined) // none left if COMMIT itself failed
          throw error
        }
      })
    } catch (error) {
      // A commit that found the disk full wrote no commit frame: nothing of it is kept. Any other failed commit may yet take effect.
      if (!committing || error instanceof SessError || isDiskFull(error)) throw storageFailure(error, this.home, claims)
      throw uncertainCommit(error)
    }
  }

  /**
   * Runs `work` on the connection for lock rows, whose commits are not flushed before they return
   * (see `SQLITE_RELAXED_SYNCHRONOUS` for why that is safe for them). `work` makes single-statement
   * writes only: each is atomic on its own.
   */
  async relaxed<T>(work: (connection: Kysely<Database>) => Promise<T>): Promise<T> {
    this.assertOpen()
    try {
      return await work(this.#relaxedDb)
    } catch (error) {
      throw storageFailure(error, this.home)
    }
  }

  /**
   * {@link write} after a blob was written for it: unless the transaction commits, the blob is
   * discarded again ({@link discardBlob}); but not when the commit itself failed, since the
   * transaction may then still take effect (see {@link uncertainCommit}): a blob no row comes to
   * name is litter that gc and doctor quarantine, while a row whose blob was deleted would be a
   * session that cannot be read.
   */
  async writeWithBlob<T>(written: WrittenBlob, work: (trx: Kysely<Database>) => Promise<T>, claims?: {name: string}): Promise<T> {
    try {
      return await this.write(work, claims)
    } catch (error) {
      if (!isUncertainCommit(error)) await this.discardBlob(written).catch(() => undefined) // the write's own error is the one to report
      throw error
    }
  }

  /** Deletes a blob no row came to name: with its session's whole blob directory when the session is new. */
  async discardBlob({blob, newSession, sessionId}: WrittenBlob): Promise<void> {
    if (newSession) await this.blobs.deleteSession(sessionId)
    else if (blob !== undefined) await this.blobs.delete(sessionId, blob)
  }

  /**
   * `base`, or `base-2`, `base-3`… whichever is free among live sessions. Call it inside the
   * write transaction that takes the name, so that concurrent writers cannot pick the same one.
   */
  async freeName(trx: Kysely<Database>, base: string): Promise<string> {
    const stem = base.slice(0, 56)
    const rows = await trx.selectFrom('sessions').select('name').where('trashed_at', 'is', null).where('name', 'like', `${stem}%`).execute()
    const taken = new Set(rows.map((row) => row.name))
    if (!taken.has(stem)) return stem
    for (let n = 2; ; n++) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`
  }

  /** @throws {ConflictError} when a live session already has `name` (an early check; the transaction checks again). */
  async assertNameFree(name: string): Promise<void> {
    const row = await this.db.selectFrom('sessions').select('id').where('name', '=', name).where('trashed_at', 'is', null).executeTakeFirst()
    if (row) throw nameTaken(name)
  }
}

/** A `sessions` row with every counter at zero and nothing known. */
export function emptyRow(id: string, name: string, kind: string, now: number): SessionRow {
  return {
    background_seq: null,
    bytes: 0,
    closed_at: null,
    created_at: now,
    cwd: null,
    external_id: null,
    format: null,
    id,
    kind,
    last_activity_at: now,
    mode: 'background',
    model: null,
    name,
    output_bytes: 0,
    owner_host: null,
    owner_pid: null,
    owner_start_time: null,
    parent_id: null,
    pinned: 0,
    provider: null,
    record_count: 0,
    status: 'active',
    title: null,
    tokens: null,
    trashed_at: null,
    version_count: 0,
  }
}

/** Inserts `rows` into `table`, {@link INSERT_BATCH} at a time. */
export async function insertInBatches<T extends 'records' | 'output_events'>(trx: Kysely<Database>, table: T, rows: Insertable<Database[T]>[]): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_BATCH) {
    await trx
      .insertInto(table)
      .values(rows.slice(start, start + INSERT_BATCH) as never)
      .execute()
  }
}

/** Inserts a session row and its tags. */
export async function insertSession(trx: Kysely<Database>, row: SessionRow, tags: string[]): Promise<void> {
  await trx.insertInto('sessions').values(row).execute()
  if (tags.length > 0) await trx.insertInto('session_tags').values(tags.map((tag) => ({session_id: row.id, tag}))).execute()
}

/** UTF-8 length of `text`, in bytes. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** The errors of {@link uncertainCommit}: commits that failed, and may yet have taken effect. */
const uncertainCommits = new WeakSet<Error>()

/**
 * The error for a COMMIT that failed (an I/O error writing or fsyncing the WAL). Its outcome is
 * unknown: SQLite reports the transaction rolled back, but its frames may already be in the WAL
 * in full, and if the WAL is not checkpointed and reset before the database is next opened (the
 * disk still failing), recovery finds them committed (https://www.sqlite.org/wal.html, "WAL File
 * Format": a frame is committed when a commit frame with valid checksums follows it). So it never
 * says that nothing changed.
 */
function uncertainCommit(error: unknown): StorageError {
  const failure = new StorageError(`The store's database failed to commit: ${(error as Error).message}`, {
    cause: error,
    hint: 'The change may or may not have been saved (the disk failed as it was made durable): check the disk, then look (sess list, sess show) before you retry.',
  })
  uncertainCommits.add(failure)
  return failure
}

/** Whether `error` is a failed COMMIT of {@link StoreContext.write}, which may yet take effect (see {@link uncertainCommit}): content its rows name must not be deleted. */
export function isUncertainCommit(error: unknown): boolean {
  return error instanceof StorageError && uncertainCommits.has(error)
}

/**
 * `error` as thrown out of a database call: a {@link SessError} as is, a unique-name clash as a
 * {@link ConflictError}, a full disk as a {@link DiskFullError} naming the disk of `home`, anything
 * else a {@link StorageError}.
 */
function storageFailure(error: unknown, home: string, claims?: {name: string; hint?: string}): SessError {
  if (error instanceof SessError) return error
  if (claims && isUniqueViolation(error)) return nameTaken(claims.name, claims.hint)
  if (isDiskFull(error)) return diskFullError(home, error)
  return new StorageError(`The store's database failed: ${(error as Error).message}`, {
    cause: error,
    hint: 'Nothing was changed by this call; check the disk and the permissions of the store directory, then retry.',
  })
}

function nameTaken(name: string, hint = 'Choose another name, or `sess rm` the other session.'): ConflictError {
  return new ConflictError(`A session named ${name} already exists.`, {hint})
}

function isUniqueViolation(error: unknown): boolean {
  const text = String((error as {code?: string})?.code ?? '') + String((error as Error)?.message ?? '')
  return /SQLITE_CONSTRAINT_UNIQUE|UNIQUE constraint failed|23505|duplicate key/.test(text)
}
