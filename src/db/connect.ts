import {Kysely} from 'kysely'
import type {Database} from './schema.ts'
import {BunSqliteDialect, openSqlite} from './sqlite.ts'

/**
 * Connects Kysely to the store's metadata database: the embedded SQLite file at `path`.
 * (PostgreSQL arrives here, behind the same `Kysely<Database>`, when `SESS_DATABASE_URL` is set.)
 */
export function connectDatabase(path: string): Kysely<Database> {
  return new Kysely<Database>({dialect: new BunSqliteDialect(openSqlite(path))})
}
