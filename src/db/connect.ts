import {dirname} from 'node:path'
import {Kysely} from 'kysely'
import {StorageError} from '../errors/index.ts'
import {fsyncDirectory} from '../os/fsync-directory.ts'
import type {SearchIndex} from '../search/search-index.ts'
import {searchIndexFor} from '../search/indexes.ts'
import type {DialectName} from './dialect.ts'
import {connectionFailure, isPostgresUrl, openPostgresPool, POSTGRES_BEGIN_WRITE} from './postgres.ts'
import {postgresDialect} from './postgres-dialect.ts'
import type {Database} from './schema.ts'
import {BunSqliteDialect, damagedDatabase, isSqliteDamage, openSqlite, SQLITE_BEGIN_WRITE, SQLITE_RELAXED_SYNCHRONOUS} from './sqlite.ts'

/** The store's metadata database and what differs between its dialects. */
export interface MetadataDatabase {
  dialect: DialectName
  db: Kysely<Database>
  /** What starts a write transaction (SQLite: `begin immediate`; PostgreSQL: see {@link POSTGRES_BEGIN_WRITE}). */
  beginWrite: string
  /**
   * The same database, for single-statement writes of lock rows whose commits need not be flushed
   * before they return (SQLite: a second connection with `synchronous=NORMAL`, see
   * {@link SQLITE_RELAXED_SYNCHRONOUS}; PostgreSQL: a second pool with `synchronous_commit=off`).
   */
  relaxedDb: Kysely<Database>
  /**
   * Releases the database's handles once both Kyselys are destroyed (SQLite: Kysely's driver
   * closes a handle only once it has used it, so a connection that ran no query would otherwise
   * stay open; PostgreSQL: nothing, destroying a Kysely ends its pool). Idempotent.
   */
  close: () => void
  /** Destroys both Kyselys, then {@link close}s. */
  destroy: () => Promise<void>
  /** The full-text index of transcripts (SQLite: FTS5; PostgreSQL: `tsvector`). */
  search: SearchIndex
}

/**
 * Connects Kysely to the store's metadata database: the embedded SQLite file at `location`, or,
 * when `location` is a `postgres://` URL, that PostgreSQL database (checked with one query).
 *
 * Once both connections are open (and with them the WAL file, which SQLite creates when a
 * connection opens and deletes when the last one closes), the database's directory is fsynced,
 * so that the WAL's entry in it is durable before any commit is written to the WAL. SQLite makes
 * that fsync too, but ignores its result (os_unix.c, `unixSync`: "full_fsync(dirfd)" unchecked);
 * here a failure fails the open.
 *
 * @throws {StorageError} when the database cannot be opened or reached: for SQLite a symlink in
 *   its place or its -wal's, permissions, a damaged file or not a database; for PostgreSQL a
 *   server that does not answer, wrong credentials, a database that does not exist (each named,
 *   with the fix).
 */
export async function connectDatabase(location: string): Promise<MetadataDatabase> {
  return isPostgresUrl(location) ? connectPostgres(location) : connectSqlite(location)
}

function assemble(dialect: DialectName, beginWrite: string, db: Kysely<Database>, relaxedDb: Kysely<Database>, close: () => void): MetadataDatabase {
  const destroy = async () => {
    await Promise.all([db.destroy(), relaxedDb.destroy()])
    close()
  }
  return {beginWrite, close, db, destroy, dialect, relaxedDb, search: searchIndexFor(dialect)}
}

async function connectPostgres(url: string): Promise<MetadataDatabase> {
  const db = new Kysely<Database>({dialect: postgresDialect(openPostgresPool(url), url)})
  const relaxedDb = new Kysely<Database>({dialect: postgresDialect(openPostgresPool(url, 'off'), url)})
  const database = assemble('postgres', POSTGRES_BEGIN_WRITE, db, relaxedDb, () => undefined)
  try {
    await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
  } catch (error) {
    await database.destroy()
    throw connectionFailure(error, url)
  }
  return database
}

function connectSqlite(path: string): MetadataDatabase {
  try {
    const main = openSqlite(path)
    let relaxed
    try {
      relaxed = openSqlite(path, SQLITE_RELAXED_SYNCHRONOUS)
      fsyncDirectory(dirname(path))
    } catch (error) {
      main.close(false)
      relaxed?.close(false)
      throw error
    }
    const kysely = (database: typeof main) => new Kysely<Database>({dialect: new BunSqliteDialect(database)})
    const close = () => {
      main.close(false)
      relaxed.close(false)
    }
    return assemble('sqlite', SQLITE_BEGIN_WRITE, kysely(main), kysely(relaxed), close)
  } catch (error) {
    if (isSqliteDamage(error)) throw damagedDatabase(path, error)
    const code = (error as NodeJS.ErrnoException).code
    throw new StorageError(`Cannot open the store database ${path}: ${(error as Error).message}`, {
      cause: error,
      hint:
        code === 'ELOOP'
          ? 'A symlink stands in place of the database or of a file SQLite keeps beside it (-wal, -shm, -journal); sess never follows symlinks in its store. Move it away.'
          : 'Check that the file is a sess database, that you may read and write it, and that its disk works and has space.',
    })
  }
}
