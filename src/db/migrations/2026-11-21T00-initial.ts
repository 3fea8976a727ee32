import {type Kysely, sql} from 'kysely'

// Frozen: migrations never change once released. They take Kysely<any> on purpose, so that later
// changes to the schema types cannot change what an old migration does.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('title', 'text')
    .addColumn('model', 'text')
    .addColumn('provider', 'text')
    .addColumn('cwd', 'text')
    .addColumn('owner_host', 'text')
    .addColumn('owner_pid', 'integer')
    .addColumn('owner_start_time', 'text')
    .addColumn('parent_id', 'text')
    .addColumn('format', 'text')
    .addColumn('external_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_activity_at', 'bigint', (c) => c.notNull())
    .addColumn('closed_at', 'bigint')
    .addColumn('trashed_at', 'bigint')
    .addColumn('record_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tokens', 'bigint')
    .addColumn('output_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('version_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  // A name is unique among sessions not in the trash.
  await db.schema
    .createIndex('sessions_name_live')
    .unique()
    .on('sessions')
    .column('name')
    .where(sql.ref('trashed_at'), 'is', null)
    .execute()
  await db.schema.createIndex('sessions_last_activity').on('sessions').columns(['last_activity_at', 'id']).execute()
  await db.schema.createIndex('sessions_status').on('sessions').columns(['status', 'last_activity_at']).execute()
  await db.schema.createIndex('sessions_kind').on('sessions').columns(['kind', 'last_activity_at']).execute()
  await db.schema.createIndex('sessions_parent').on('sessions').column('parent_id').execute()

  await db.schema
    .createTable('session_tags')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_tags_pk', ['session_id', 'tag'])
    .execute()
  await db.schema.createIndex('session_tags_tag').on('session_tags').columns(['tag', 'session_id']).execute()

  await db.schema
    .createTable('versions')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('damage', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('versions_pk', ['session_id', 'version'])
    .execute()
  await db.schema.createIndex('versions_sha256').on('versions').column('sha256').execute()

  await db.schema
    .createTable('records')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('ts', 'bigint')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('records_pk', ['session_id', 'seq'])
    .execute()

  await db.schema
    .createTable('output_events')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('time', 'double precision', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('output_events_pk', ['session_id', 'seq'])
    .execute()

  await db.schema
    .createTable('snapshots')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('snapshots_pk', ['session_id', 'seq'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['snapshots', 'output_events', 'records', 'versions', 'session_tags', 'sessions']) {
    await db.schema.dropTable(table).execute()
  }
}
