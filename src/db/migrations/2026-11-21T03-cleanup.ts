import type {Kysely} from 'kysely'

// Frozen: migrations never change once released. They take Kysely<any> on purpose, so that later
// changes to the schema types cannot change what an old migration does.

/**
 * Retention: `sessions.pinned` (1: never collected by `sess gc`, whatever the policy; 0 for every
 * existing session).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('sessions')
    .addColumn('pinned', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('pinned').execute()
}
