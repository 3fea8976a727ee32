import type {Kysely} from 'kysely'

// Frozen: migrations never change once released. They take Kysely<any> on purpose, so that later
// changes to the schema types cannot change what an old migration does.

/**
 * The multi-session coordinator: `current_sessions`, the current session of each terminal and of
 * each directory that has one (`scope` `terminal` or `directory`, `key` the terminal's identity or
 * the directory's real path); the pointer keeps the session's id and name, so that a pointer to a
 * session since removed says which. `sessions.mode` (`foreground` or `background`; every existing
 * session is in the background) and `sessions.background_seq`, the last output sequence number
 * when the session went to the background (what it missed comes after it).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('current_sessions')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('session_name', 'text', (c) => c.notNull())
    .addColumn('set_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('current_sessions_pk', ['scope', 'key'])
    .execute()
  await db.schema.createIndex('current_sessions_session').on('current_sessions').column('session_id').execute()
  await db.schema
    .alterTable('sessions')
    .addColumn('mode', 'text', (c) => c.notNull().defaultTo('background'))
    .execute()
  await db.schema.alterTable('sessions').addColumn('background_seq', 'bigint').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('background_seq').execute()
  await db.schema.alterTable('sessions').dropColumn('mode').execute()
  await db.schema.dropTable('current_sessions').execute()
}
