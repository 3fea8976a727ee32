import type {Kysely} from 'kysely'

// Frozen: migrations never change once released (see 2026-11-21T00-initial.ts).

/**
 * Session locks: one row per session that was ever locked. `token` is the fencing token of the
 * latest grant and only ever rises; `lease_id` is null while the lock is free. The holder columns
 * name the process that holds (or last held) it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('locks')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('token', 'bigint', (c) => c.notNull())
    .addColumn('lease_id', 'text')
    .addColumn('holder_host', 'text', (c) => c.notNull())
    .addColumn('holder_pid', 'integer', (c) => c.notNull())
    .addColumn('holder_start_time', 'text')
    .addColumn('holder_boot_id', 'text')
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .addColumn('renewed_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('ttl_ms', 'bigint', (c) => c.notNull())
    .addColumn('released_at', 'bigint')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('locks').execute()
}
