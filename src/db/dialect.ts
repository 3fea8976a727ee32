import {type Kysely, PostgresAdapter} from 'kysely'

/** The database engines the metadata database runs on: embedded SQLite, or a PostgreSQL server (DESIGN §8). */
export type DialectName = 'sqlite' | 'postgres'

/** Which engine `db` (a Kysely instance or transaction) talks to. */
export function dialectOf(db: Kysely<any>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite'
}
