import type {Kysely} from 'kysely'

// Frozen: migrations never change once released. They take Kysely<any> on purpose, so that later
// changes to the schema types cannot change what an old migration does.

/**
 * The state of each session's output buffer: its own bound (null: the store's), the last sequence
 * number handed out (so that numbers keep rising after every event was evicted), and what was
 * evicted so far. Existing buffers start with their highest `seq` and nothing evicted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('output_buffers')
    .addColumn('session_id', 'text', (c) => c.primaryKey().references('sessions.id').onDelete('cascade'))
    .addColumn('limit_bytes', 'bigint')
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('evicted_events', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('evicted_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  await db
    .insertInto('output_buffers')
    .columns(['session_id', 'last_seq'])
    .expression((eb: any) => eb.selectFrom('output_events').select(['session_id', eb.fn.max('seq').as('last_seq')]).groupBy('session_id'))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('output_buffers').execute()
}
