import {dirname} from 'node:path'
import {Kysely} from 'kysely'
import {StorageError} from '../errors/index.ts'
import {fsyncDirectory} from '../os/fsync-directory.ts'
import type {SearchIndex} from '../search/search-index.ts'
import {SqliteFts5Index} from '../search/sqlite-fts5.ts'
import type {Database} from './schema.ts'
import {BunSqliteDialect, openSqlite, SQLITE_BEGIN_WRITE, SQLITE_RELAXED_SYNCHRONOUS} from './sqlite.ts'

/** The store's metadata database and what differs between its dialects. */
export interface MetadataDatabase {
  db: Kysely<Database>
  /** The statement that starts a write transaction (SQLite: `begin immediate`). */
  beginWrite: string
  /**
   * The same database, for single-statement writes of lock rows whose commits need not be flushed
   * before they return (SQLite: a second connection; see {@link SQLITE_RELAXED_SYNCHRONOUS}).
   */
  relaxedDb: Kysely<Database>
  /**
   * Closes both connections' database handles, releasing their file descriptors; call it after
   * destroying both Kyselys (Kysely's driver closes a handle only once it has used it, so a
   * connection that ran no query would otherwise stay open). Idempotent.
   */
  close: () => void
  /** The full-text index of transcripts (SQLite: FTS5). */
  search: SearchIndex
}

/**
 * Connects Kysely to the store's metadata database: the embedded SQLite file at `path`.
 * (PostgreSQL arrives here, behind the same `Kysely<Database>`, when `SESS_DATABASE_URL` is set.)
 *
 * Once both connections are open (and with them the WAL file, which SQLite creates when a
 * connection opens and deletes when the last one closes), the database's directory is fsynced,
 * so that the WAL's entry in it is durable before any commit is written to the WAL. SQLite makes
 * that fsync too, but ignores its result (os_unix.c, `unixSync`: "full_fsync(dirfd)" unchecked);
 * here a failure fails the open.
 *
 * @throws {StorageError} when the file cannot be opened (a symlink in its place, permissions, not
 *   a database, the disk failing), or its directory cannot be fsynced.
 */
export function connectDatabase(path: string): MetadataDatabase {
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
    return {beginWrite: SQLITE_BEGIN_WRITE, close, db: kysely(main), relaxedDb: kysely(relaxed), search: new SqliteFts5Index()}
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new StorageError(`Cannot open the store database ${path}: ${(error as Error).message}`, {
      cause: error,
      hint:
        code === 'ELOOP'
          ? 'A symlink stands in place of the database; sess never follows symlinks in its store. Move it away.'
          : 'Check that the file is a sess database, that you may read and write it, and that its disk works and has space.',
    })
  }
}
