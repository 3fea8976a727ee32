/**
 * Same migrations, same schema: the full migration list run on a fresh SQLite database and a fresh
 * PostgreSQL database gives the same tables, columns (types normalised, nullability, defaults),
 * primary keys, indexes (unique or not, partial or not) and foreign keys, but for the parts of the
 * full-text index that are each engine's own (listed below, and checked to be there); each
 * migration's `down`, run from the latest to the first, leaves both engines alike at every step
 * and nothing of the store's at the end; and migrating up again gives the same schema as before.
 */
import {join} from 'node:path'
import {type Kysely, sql} from 'kysely'
import {Migrator} from 'kysely/migration'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {tempDir} from '../../test/helpers/cli.ts'
import {createDatabase} from '../../test/helpers/dialects.ts'
import {connectDatabase, type MetadataDatabase} from './connect.ts'
import type {DialectName} from './dialect.ts'
import {MIGRATIONS, migrationProvider} from './migrations/index.ts'

/** A column as both engines can say it. */
interface Column {
  name: string
  /** The declared type, lower case; `varchar(n)` for PostgreSQL's `character varying(n)`, `blob` for its `bytea`. */
  type: string
  /** Whether it may hold null (a primary key's columns never do, as on PostgreSQL; SQLite would let a non-integer one). */
  nullable: boolean
  /** The default, without PostgreSQL's casts (`'background'`, `0`), or null. */
  default: string | null
}

/** An index other than the one behind a primary key. */
interface Index {
  name: string
  columns: string[]
  unique: boolean
  /** The predicate of a partial index, lower case, without quotes or parentheses. */
  where: string | null
}

interface ForeignKey {
  columns: string[]
  /** `table(column, …)`. */
  references: string
  /** `cascade`, `no action`, … */
  onDelete: string
}

interface Table {
  columns: Column[]
  primaryKey: string[]
  indexes: Index[]
  foreignKeys: ForeignKey[]
}

/** Tables by name, and triggers. */
interface Schema {
  tables: Record<string, Table>
  triggers: string[]
}

/**
 * What only one engine has: the full-text index is each engine's own (see `src/search/`). On
 * SQLite, `search_docs` is keyed by an integer `id` (the rowid of the record's text in the FTS5
 * table `search_fts`, a virtual table with its shadow tables), unique on `(session_id, seq)`, and
 * a trigger deletes the text with the entry; on PostgreSQL, `search_docs` holds the `tsvector`
 * itself (`tsv`, GIN-indexed) and `(session_id, seq)` is its primary key.
 */
const ENGINE_OWN: Record<DialectName, {tables: string[]; columns: string[]; indexes: string[]; triggers: string[]; primaryKey: string[]}> = {
  postgres: {columns: ['tsv'], indexes: ['search_docs_tsv'], primaryKey: ['session_id', 'seq'], tables: [], triggers: []},
  sqlite: {columns: ['id'], indexes: ['search_docs_record'], primaryKey: ['id'], tables: ['search_fts', 'search_fts_config', 'search_fts_data', 'search_fts_docsize', 'search_fts_idx'], triggers: ['search_docs_delete']},
}

/** Kysely's own tables, which the migrator makes on both engines. */
const MIGRATOR_TABLES = ['kysely_migration', 'kysely_migration_lock']

describe('the migrations on SQLite and on PostgreSQL', () => {
  const dir = tempDir('sess-migrations-')
  const databases = {} as Record<DialectName, MetadataDatabase>
  let drop: () => Promise<void>
  beforeAll(async () => {
    const postgres = await createDatabase()
    drop = postgres.drop
    databases.postgres = await connectDatabase(postgres.url)
    databases.sqlite = await connectDatabase(join(dir.path, 'sess.db'))
  })
  afterAll(async () => {
    await Promise.all(Object.values(databases).map((database) => database.destroy()))
    await drop()
    dir.remove()
  })

  const migrator = (dialect: DialectName) => new Migrator({db: databases[dialect].db, provider: migrationProvider})
  /** Both schemas, each without its engine's own parts (which must be all there, or all gone). */
  const common = async () => ({postgres: withoutOwn(await schemaOf(databases.postgres), 'postgres'), sqlite: withoutOwn(await schemaOf(databases.sqlite), 'sqlite')})
  let latest: Record<DialectName, Schema>

  it('make the same schema, but for the full-text index of each engine', async () => {
    for (const dialect of ['sqlite', 'postgres'] as const) expect((await migrator(dialect).migrateToLatest()).error).toBeUndefined()
    latest = {postgres: await schemaOf(databases.postgres), sqlite: await schemaOf(databases.sqlite)}
    const {postgres, sqlite} = await common()
    expect(Object.keys(sqlite.tables).sort()).toEqual([...MIGRATOR_TABLES, 'blob_chunks', 'current_sessions', 'locks', 'output_buffers', 'output_events', 'records', 'search_docs', 'session_tags', 'sessions', 'snapshots', 'versions'].sort())
    expect(sqlite).toEqual(postgres)
    // Spot checks of the normalisation: what the engines call the same.
    expect(sqlite.tables.blob_chunks!.columns.find((c) => c.name === 'data')).toEqual({default: null, name: 'data', nullable: false, type: 'blob'})
    expect(sqlite.tables.sessions!.indexes.find((i) => i.name === 'sessions_name_live')).toEqual({columns: ['name'], name: 'sessions_name_live', unique: true, where: 'trashed_at is null'})
    expect(sqlite.tables.sessions!.columns.find((c) => c.name === 'mode')).toEqual({default: "'background'", name: 'mode', nullable: false, type: 'text'})
    expect([sqlite.tables.blob_chunks!.primaryKey, sqlite.tables.records!.foreignKeys]).toEqual([['session_id', 'blob', 'seq'], [{columns: ['session_id'], onDelete: 'cascade', references: 'sessions(id)'}]])
    expect(sqlite.tables.search_docs).toEqual({
      columns: [
        {default: null, name: 'session_id', nullable: false, type: 'text'},
        {default: null, name: 'seq', nullable: false, type: 'integer'},
      ],
      foreignKeys: [{columns: ['session_id'], onDelete: 'cascade', references: 'sessions(id)'}],
      indexes: [],
      primaryKey: [],
    })
  })

  it("undo one by one alike on both engines, down to nothing of the store's; up again gives the same schema", async () => {
    for (const name of Object.keys(MIGRATIONS).toReversed()) {
      for (const dialect of ['sqlite', 'postgres'] as const) {
        const {error, results} = await migrator(dialect).migrateDown()
        expect([dialect, error]).toEqual([dialect, undefined])
        expect(results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual([[name, 'Down', 'Success']])
      }
      const {postgres, sqlite} = await common()
      expect(sqlite, `after the down of ${name}`).toEqual(postgres)
    }
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const schema = await schemaOf(databases[dialect])
      expect([dialect, Object.keys(schema.tables).sort(), schema.triggers]).toEqual([dialect, MIGRATOR_TABLES, []])
      expect((await migrator(dialect).migrateToLatest()).error).toBeUndefined()
      expect(await schemaOf(databases[dialect])).toEqual(latest[dialect])
    }
  })
})

/**
 * `schema` without what only `dialect` has ({@link ENGINE_OWN}), after checking that those parts
 * are all there when the index is (`search_docs`), and none of them when it is not.
 */
function withoutOwn(schema: Schema, dialect: DialectName): Schema {
  const own = ENGINE_OWN[dialect]
  const tables = Object.fromEntries(Object.entries(schema.tables).filter(([name]) => !own.tables.includes(name)))
  const docs = tables.search_docs
  const ownParts = {
    columns: docs?.columns.filter((c) => own.columns.includes(c.name)).map((c) => c.name) ?? [],
    indexes: docs?.indexes.filter((i) => own.indexes.includes(i.name)).map((i) => i.name) ?? [],
    primaryKey: docs?.primaryKey ?? [],
    tables: Object.keys(schema.tables).filter((name) => own.tables.includes(name)),
    triggers: schema.triggers,
  }
  expect({dialect, ...ownParts}).toEqual(docs ? {dialect, ...own} : {columns: [], dialect, indexes: [], primaryKey: [], tables: [], triggers: []})
  if (docs) {
    tables.search_docs = {
      columns: docs.columns.filter((c) => !own.columns.includes(c.name)),
      foreignKeys: docs.foreignKeys,
      indexes: docs.indexes.filter((i) => !own.indexes.includes(i.name)),
      primaryKey: [],
    }
  }
  return {tables, triggers: []}
}

/** The schema of `database`, normalised ({@link Column}, {@link Index}), from its engine's catalog. */
async function schemaOf(database: MetadataDatabase): Promise<Schema> {
  const schema = database.dialect === 'postgres' ? await postgresSchema(database.db) : await sqliteSchema(database.db)
  for (const table of Object.values(schema.tables)) {
    table.indexes.sort((a, b) => a.name.localeCompare(b.name))
    table.foreignKeys.sort((a, b) => a.columns.join().localeCompare(b.columns.join()))
    for (const column of table.columns) if (table.primaryKey.includes(column.name)) column.nullable = false
  }
  schema.triggers.sort()
  return schema
}

/** `pragma table_xinfo`, `index_list`, `index_info` and `foreign_key_list` of every table (https://sqlite.org/pragma.html). */
async function sqliteSchema(db: Kysely<any>): Promise<Schema> {
  const rows = async <T>(query: string) => (await sql.raw<T>(query).execute(db)).rows
  const master = await rows<{type: string; name: string; sql: string | null}>("select type, name, sql from sqlite_master where name not like 'sqlite_%' order by name")
  const tables: Record<string, Table> = {}
  for (const {name} of master.filter((entry) => entry.type === 'table')) {
    const columns = await rows<{name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number}>(`pragma table_xinfo("${name}")`)
    const indexes: Index[] = []
    for (const index of await rows<{name: string; unique: number; origin: string; partial: number}>(`pragma index_list("${name}")`)) {
      if (index.origin === 'pk') continue
      const indexColumns = await rows<{seqno: number; name: string}>(`pragma index_info("${index.name}")`)
      const definition = master.find((entry) => entry.name === index.name)?.sql ?? ''
      indexes.push({columns: indexColumns.sort((a, b) => a.seqno - b.seqno).map((c) => c.name), name: index.name, unique: index.unique === 1, where: index.partial ? predicate(definition.slice(definition.toLowerCase().lastIndexOf(' where ') + 7)) : null})
    }
    const keys = await rows<{id: number; seq: number; table: string; from: string; to: string; on_delete: string}>(`pragma foreign_key_list("${name}")`)
    const foreignKeys = [...new Set(keys.map((key) => key.id))].map((id) => {
      const parts = keys.filter((key) => key.id === id).sort((a, b) => a.seq - b.seq)
      return {columns: parts.map((p) => p.from), onDelete: parts[0]!.on_delete.toLowerCase(), references: `${parts[0]!.table}(${parts.map((p) => p.to).join(', ')})`}
    })
    tables[name] = {
      columns: columns.filter((c) => c.hidden === 0).map((c) => ({default: c.dflt_value, name: c.name, nullable: c.notnull === 0, type: c.type.toLowerCase()})),
      foreignKeys,
      indexes,
      primaryKey: columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
    }
  }
  return {tables, triggers: master.filter((entry) => entry.type === 'trigger').map((entry) => entry.name)}
}

/** The catalog of the current schema (https://www.postgresql.org/docs/current/catalogs.html). */
async function postgresSchema(db: Kysely<any>): Promise<Schema> {
  const rows = async <T>(query: ReturnType<typeof sql<T>>) => (await query.execute(db)).rows
  const columns = await rows<{table: string; name: string; type: string; nullable: boolean; default: string | null}>(sql`
    select c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable, pg_get_expr(d.adbin, d.adrelid) as default
    from pg_attribute a join pg_class c on c.oid = a.attrelid left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
    order by c.relname, a.attnum`)
  const keys = await rows<{table: string; columns: string[]}>(sql`
    select c.relname as table, array(select a.attname::text from unnest(con.conkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.o) as columns
    from pg_constraint con join pg_class c on c.oid = con.conrelid
    where con.connamespace = current_schema()::regnamespace and con.contype = 'p'`)
  const indexes = await rows<{table: string; name: string; unique: boolean; columns: string[]; where: string | null}>(sql`
    select t.relname as table, ic.relname as name, i.indisunique as unique,
      array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnatts) k order by k) as columns,
      pg_get_expr(i.indpred, i.indrelid) as where
    from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
    where t.relnamespace = current_schema()::regnamespace and not i.indisprimary`)
  const foreign = await rows<{table: string; columns: string[]; target: string; targets: string[]; action: string}>(sql`
    select c.relname as table, f.relname as target, con.confdeltype as action,
      array(select a.attname::text from unnest(con.conkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.o) as columns,
      array(select a.attname::text from unnest(con.confkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.o) as targets
    from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_class f on f.oid = con.confrelid
    where con.connamespace = current_schema()::regnamespace and con.contype = 'f'`)
  const triggers = await rows<{name: string}>(sql`
    select t.tgname as name from pg_trigger t join pg_class c on c.oid = t.tgrelid where c.relnamespace = current_schema()::regnamespace and not t.tgisinternal`)
  const ACTIONS: Record<string, string> = {a: 'no action', c: 'cascade', d: 'set default', n: 'set null', r: 'restrict'}
  const tables: Record<string, Table> = {}
  for (const column of columns) {
    const table = (tables[column.table] ??= {columns: [], foreignKeys: [], indexes: [], primaryKey: []})
    table.columns.push({default: column.default?.replace(/::[a-z ]+$/, '') ?? null, name: column.name, nullable: column.nullable, type: column.type.replace(/^character varying/, 'varchar').replace(/^bytea$/, 'blob')})
  }
  for (const key of keys) tables[key.table]!.primaryKey = key.columns
  for (const index of indexes) tables[index.table]!.indexes.push({columns: index.columns, name: index.name, unique: index.unique, where: index.where === null ? null : predicate(index.where)})
  for (const key of foreign) tables[key.table]!.foreignKeys.push({columns: key.columns, onDelete: ACTIONS[key.action]!, references: `${key.target}(${key.targets.join(', ')})`})
  return {tables, triggers: triggers.map((t) => t.name)}
}

/** A partial index's predicate, as both engines can say it: lower case, without quotes, parentheses or extra spaces. */
function predicate(text: string): string {
  return text.replaceAll(/["()`]/g, '').replaceAll(/\s+/g, ' ').trim().toLowerCase()
}
