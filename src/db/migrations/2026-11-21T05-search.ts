import type {Kysely} from 'kysely'
import type {Database} from '../schema.ts'
import {searchIndexFor} from '../../search/indexes.ts'
import {dialectOf} from '../dialect.ts'

/**
 * Full-text search: the index of every record's text (`src/search/sqlite-fts5.ts` on SQLite,
 * `src/search/postgres-fts.ts` on PostgreSQL), filled from the records already stored, in the
 * migrator's transaction (see `BunSqliteDialect`; PostgreSQL's DDL is transactional too).
 *
 * Unlike the other migrations this one delegates to current code (and the current schema types):
 * the index holds nothing but what the records say, so building it as the current indexer does is
 * always right, and a later change to what is indexed comes with a migration of its own that
 * rebuilds it.
 */
export async function up(db: Kysely<Database>): Promise<void> {
  await searchIndexFor(dialectOf(db)).rebuild(db)
}

export async function down(db: Kysely<Database>): Promise<void> {
  await db.schema.dropTable('search_fts').ifExists().execute()
  await db.schema.dropTable('search_docs').ifExists().execute()
}
