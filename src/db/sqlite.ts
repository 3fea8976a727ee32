import {Database as BunDatabase} from 'bun:sqlite'
import {closeSync, constants, lstatSync, openSync} from 'node:fs'
import {CompiledQuery, type DatabaseConnection, type Driver, SqliteDialect, type SqliteDatabase, SqliteDriver, type SqliteStatement} from 'kysely'

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
  database.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  database.run('PRAGMA journal_mode = WAL')
  database.run(`PRAGMA synchronous = ${synchronous}`)
  database.run('PRAGMA foreign_keys = ON')
  return database
}

/**
 * Creates the database file with mode 0600 if it is missing; refuses a symlink in its place.
 *
 * An existing file is never opened here: closing any descriptor of a file drops every POSIX
 * (fcntl) lock the process holds on it, those of SQLite's own connections included, and another
 * process could then checkpoint and delete the WAL under a live connection
 * (https://www.sqlite.org/howtocorrupt.html, "Posix advisory locks canceled by a separate thread
 * doing close()"). A store opened twice in one process, and the store's own second connection,
 * would do exactly that.
 *
 * @throws an `Error` with code `ELOOP` for a symlink, or what creating the file threw.
 */
function createPrivately(path: string): void {
  const stat = lstatSync(path, {throwIfNoEntry: false})
  if (stat?.isSymbolicLink()) throw Object.assign(new Error(`${path} is a symbolic link`), {code: 'ELOOP'})
  if (stat) return
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error // created meanwhile by another process: not ours to open
  }
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
 * cache. A transaction begun while one is open on the connection (a migration that opens its own,
 * run inside the transaction that makes the migration atomic: see `migrateToLatest`) runs as a
 * savepoint of it (https://www.sqlite.org/lang_savepoint.html), where SQLite would refuse a
 * nested `BEGIN`.
 */
export class BunSqliteDialect extends SqliteDialect {
  readonly #database: BunDatabase

  constructor(database: BunDatabase) {
    super({database: new BunSqliteAdapter(database)})
    this.#database = database
  }

  override createDriver(): Driver {
    return new NestingSqliteDriver(this.#database)
  }
}

/** Kysely's SQLite driver, with a transaction begun inside another run as a savepoint (see {@link BunSqliteDialect}). */
class NestingSqliteDriver extends SqliteDriver {
  readonly #database: BunDatabase
  /** The transactions this driver began, innermost last: whether each is a savepoint. */
  readonly #open: boolean[] = []

  constructor(database: BunDatabase) {
    super({database: new BunSqliteAdapter(database)})
    this.#database = database
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const nested = this.#database.inTransaction
    if (!nested) await super.beginTransaction(connection)
    this.#open.push(nested)
    if (nested) await connection.executeQuery(CompiledQuery.raw(`savepoint ${this.#savepoint()}`))
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const name = this.#savepoint()
    if (this.#open.pop()) await connection.executeQuery(CompiledQuery.raw(`release ${name}`))
    else await super.commitTransaction(connection)
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const name = this.#savepoint()
    if (!this.#open.pop()) return super.rollbackTransaction(connection)
    await connection.executeQuery(CompiledQuery.raw(`rollback to ${name}`))
    await connection.executeQuery(CompiledQuery.raw(`release ${name}`))
  }

  /** The name of the innermost savepoint this driver began. */
  #savepoint(): string {
    return `sess_nested_${this.#open.length}`
  }
}

/** The shape Kysely's SQLite driver expects, over `bun:sqlite`. */
class BunSqliteAdapter implements SqliteDatabase {
  readonly #database: BunDatabase

  constructor(database: BunDatabase) {
    this.#database = database
  }

  close(): void {
    this.#database.close(false)
  }

  prepare(sql: string): SqliteStatement {
    const statement = this.#database.query(sql)
    type Bindings = Parameters<typeof statement.all>
    return {
      reader: statement.columnNames.length > 0,
      all: (parameters) => statement.all(...(parameters as Bindings)),
      iterate: (parameters) => statement.iterate(...(parameters as Bindings)),
      run: (parameters) => {
        const {changes, lastInsertRowid} = statement.run(...(parameters as Bindings))
        return {changes, lastInsertRowid}
      },
    }
  }
}
