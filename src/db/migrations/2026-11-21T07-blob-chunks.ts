import type {Kysely} from 'kysely'
import {dialectOf} from '../dialect.ts'

// Frozen: migrations never change once released. They take Kysely<any> on purpose, so that later
// changes to the schema types cannot change what an old migration does.

/**
 * Content in the database, for a store shared on PostgreSQL (DESIGN §8), where no file is
 * reachable from every machine: `blob_chunks` holds each blob (saved original, snapshot) as
 * chunks `seq` 0, 1, … of `data` (`bytea` on PostgreSQL, `blob` on SQLite, where the table stays
 * empty: blobs are files there). `quarantined_at` (ms) marks a blob that gc or doctor set aside
 * (an orphan), deleted after the trash's grace period.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('blob_chunks')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', dialectOf(db) === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
    .addColumn('quarantined_at', 'bigint')
    .addPrimaryKeyConstraint('blob_chunks_pk', ['session_id', 'blob', 'seq'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('blob_chunks').execute()
}
