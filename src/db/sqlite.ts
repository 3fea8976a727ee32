import {Database as BunDatabase} from 'bun:sqlite'
import {closeSync, constants, lstatSync, openSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {type DialectAdapter, SqliteAdapter, SqliteDialect, type SqliteDatabase, type SqliteStatement} from 'kysely'
import {StorageError} from '../errors/index.ts'

/** How long a statement waits for another process's write lock before failing, in ms. */
export const BUSY_TIMEOUT_MS = 10_000

/**
 * Opens the embedded metadata database on `bun:sqlite`: creates the file 0600 (SQLite gives the
 * `-wal` and `-shm` files the same mode), sets `busy_timeout` before anything else, then WAL
 * journaling with `synchronous=FULL` (a commit is durable once it returns; see
 * {@link SQLITE_RELAXED_SYNCHRONOUS} for the other) and foreign keys.
 *
 * SQLite-only settings live here, at the dialect seam; queries elsewhere stay portable.
 */
export function openSqlite(path: string, synchronous: 'FULL' | typeof SQLITE_RELAXED_SYNCHRONOUS = 'FULL'): BunDatabase {
  createPrivately(path)
  const database = new BunDatabase(path, {create: false, readwrite: true, strict: true})
  try {
    database.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    enableWal(database)
    database.run(`PRAGMA synchronous = ${synchronous}`)
    database.run('PRAGMA foreign_keys = ON')
    return database
  } catch (error) {
    database.close(false)
    throw error
  }
}

/**
 * Switches `database` to WAL journaling, waiting up to {@link BUSY_TIMEOUT_MS} for other
 * connections, as every other statement does.
 *
 * `PRAGMA journal_mode = WAL` may fail with SQLITE_BUSY at once, without calling the busy handler:
 * on a new store still in rollback mode, when another process holds its write lock (switching it too,
 * or already migrating it), SQLite refuses to wait for a lock while holding one the other side
 * waits for (https://www.sqlite.org/c3ref/busy_handler.html, "could result in a deadlock"). So
 * several processes opening a brand-new store at once would see "database is locked". The
 * statement has released its locks when it fails, so it is retried, with pauses rising to 50 ms,
 * until the deadline.
 *
 * @throws the last SQLITE_BUSY once {@link BUSY_TIMEOUT_MS} has passed, or what else the pragma threw.
 */
function enableWal(database: BunDatabase): void {
  const deadline = performance.now() + BUSY_TIMEOUT_MS
  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 50)) {
    try {
      database.run('PRAGMA journal_mode = WAL')
      return
    } catch (error) {
      if (!/^SQLITE_BUSY/.test(String((error as {code?: unknown}).code)) || performance.now() >= deadline) throw error
      Bun.sleepSync(pauseMs)
    }
  }
}

/** The files SQLite makes beside the database (https://www.sqlite.org/tempfiles.html): the WAL, its shared-memory index, the rollback journal. */
const SIDECARS = ['-wal', '-shm', '-journal'] as const

/**
 * Creates the database file with mode 0600 if it is missing; refuses a symlink in its place or in
 * the place of a file SQLite is about to make beside it ({@link SIDECARS}), which it would
 * otherwise open (or create) wherever the link points.
 *
 * An existing file is never opened here: closing any descriptor of a file drops every POSIX
 * (fcntl) lock the process holds on it, those of SQLite's own connections included, and another
 * process could then checkpoint and delete the WAL under a live connection
 * (https://www.sqlite.org/howtocorrupt.html, "Posix advisory locks canceled by a separate thread
 * doing close()"). A store opened twice in one process, and the store's own second connection,
 * would do exactly that.
 *
 * @throws an `Error` with code `ELOOP` for a symlink (naming it), or what creating the file threw.
 */
function createPrivately(path: string): void {
  for (const file of [path, ...SIDECARS.map((suffix) => `${path}${suffix}`)]) {
    if (lstatSync(file, {throwIfNoEntry: false})?.isSymbolicLink()) throw Object.assign(new Error(`${file} is a symbolic link`), {code: 'ELOOP'})
  }
  if (lstatSync(path, {throwIfNoEntry: false})) return
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error // created meanwhile by another process: not ours to open
  }
}

/** Whether `error` is SQLite saying the file is damaged or not a database at all (`SQLITE_CORRUPT`, `SQLITE_NOTADB`, and their extended codes). */
export function isSqliteDamage(error: unknown): boolean {
  return /^SQLITE_(CORRUPT|NOTADB)/.test(String((error as {code?: unknown} | null)?.code ?? ''))
}

/**
 * The error for a database file at `path` that SQLite finds damaged: what SQLite said, and the
 * way out. The saved originals and snapshots are files of their own beside it (`blobs/`, as
 * saved or zstd-compressed), so they survive a damaged database, and `sess save` of that
 * directory imports the originals into a new store.
 */
export function damagedDatabase(path: string, cause: unknown): StorageError {
  return new StorageError(`The store's database ${path} is damaged: ${(cause as Error).message} (${(cause as {code?: string}).code}).`, {
    cause,
    hint: `\`sess doctor\` reports the damage. ${damagedDatabaseRecovery(path)}`,
  })
}

/** How to get the sessions out of a store whose database at `path` is damaged (see {@link damagedDatabase}). */
export function damagedDatabaseRecovery(path: string): string {
  const home = dirname(path)
  return `The saved originals are intact files in ${join(home, 'blobs')}: move the store aside and save them into a new one (mv ${home} ${home}.damaged && sess save ${join(`${home}.damaged`, 'blobs')}), or restore sess.db from a backup.`
}

/**
 * How a write transaction starts on SQLite: `BEGIN IMMEDIATE` takes the write lock at once, so two
 * processes never deadlock upgrading a read to a write (an SQLITE_BUSY that `busy_timeout` cannot
 * resolve).
 */
export const SQLITE_BEGIN_WRITE = 'begin immediate'

/**
 * The setting of the second connection that lock grants, renewals and releases go through:
 * `synchronous=NORMAL`, so that they cost microseconds, not an fsync.
 *
 * Why that is safe (https://www.sqlite.org/pragma.html#pragma_synchronous, WAL): a NORMAL commit
 * is atomic and survives the crash of any process; only a power loss or OS crash can roll back
 * its tail. The WAL is appended in order and a later FULL commit syncs it to its end, so any
 * content written under a fencing token makes that token's grant durable first. A grant lost
 * with the power is one whose holder lost its process and wrote nothing durable under it, so its
 * token can be granted again.
 */
export const SQLITE_RELAXED_SYNCHRONOUS = 'NORMAL'

/**
 * Kysely's `SqliteDialect` over a `bun:sqlite` database, its statements from bun's statement
 * cache, and its adapter saying that DDL is transactional, which in SQLite it is
 * (https://www.sqlite.org/lang_transaction.html: any command that changes the database, schema
 * included). Kysely's migrator then runs the pending migrations, and its record of each, in one
 * transaction: a crash at any instant leaves the schema as it was or wholly migrated. (Kysely's
 * own SQLite adapter says otherwise, so its migrator ran each statement on its own, and a kill
 * between two statements of one migration left a store that no later run could migrate.)
 */
export class BunSqliteDialect extends SqliteDialect {
  constructor(database: BunDatabase) {
    super({database: new BunSqliteAdapter(database)})
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter()
  }
}

/** Kysely's SQLite adapter, with transactional DDL (see {@link BunSqliteDialect}). */
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

/** The shape Kysely's SQLite driver expects, over `bun:sqlite`; a damaged file's errors become {@link damagedDatabase}. */
class BunSqliteAdapter implements SqliteDatabase {
  readonly #database: BunDatabase

  constructor(database: BunDatabase) {
    this.#database = database
  }

  close(): void {
    this.#database.close(false)
  }

  prepare(sql: string): SqliteStatement {
    const statement = this.#guard(() => this.#database.query(sql))
    type Bindings = Parameters<typeof statement.all>
    const guard = this.#guard.bind(this)
    return {
      reader: statement.columnNames.length > 0,
      all: (parameters) => guard(() => statement.all(...(parameters as Bindings))),
      *iterate(parameters) {
        const rows = guard(() => statement.iterate(...(parameters as Bindings)))
        for (;;) {
          const next = guard(() => rows.next())
          if (next.done) return
          yield next.value
        }
      },
      run: (parameters) => {
        const {changes, lastInsertRowid} = guard(() => statement.run(...(parameters as Bindings)))
        return {changes, lastInsertRowid}
      },
    }
  }

  /** `work()`, with SQLite's damage errors as {@link damagedDatabase}. */
  #guard<T>(work: () => T): T {
    try {
      return work()
    } catch (error) {
      throw isSqliteDamage(error) ? damagedDatabase(this.#database.filename, error) : error
    }
  }
}
