import {lstatSync} from 'node:fs'
import {type Kysely, sql} from 'kysely'
import type {Database} from '../../../src/db/schema.ts'
import {damagedDatabaseRecovery} from '../../../src/db/sqlite.ts'
import type {StoreContext} from '../../../src/store/context.ts'
import type {StoreLayout} from '../../../src/store/home.ts'

/** What doctor says of the metadata database, on the engine it runs on. */
export interface DatabaseCheck {
  /** Where the database is, for findings: the SQLite file, or `postgres://user@host:port/name` (no password). */
  where: string
  /** What is wrong with it, one sentence each; empty when sound. */
  problems: string[]
  /** How to repair it. */
  fix: string
}

/**
 * Checks the integrity of the store's metadata database: on SQLite `pragma quick_check`
 * (https://sqlite.org/pragma.html#pragma_quick_check: the b-trees and their pages, without
 * matching indexes to tables); on PostgreSQL, where the server keeps its own files sound, a few
 * catalog queries ({@link postgresProblems}).
 */
export async function checkDatabase(ctx: StoreContext, layout: StoreLayout): Promise<DatabaseCheck> {
  if (ctx.dialect === 'postgres') {
    return {
      fix: 'Have the database owner repair it: REINDEX the invalid indexes, VALIDATE (or drop) the constraints, restore the missing primary keys; or restore the database from a backup (pg_dump).',
      problems: await postgresProblems(ctx.db),
      where: await postgresWhere(ctx.db),
    }
  }
  const check = await sql<{quick_check: string}>`pragma quick_check`.execute(ctx.db).catch((error: unknown) => ({rows: [{quick_check: String(error)}]}))
  // SQLite runs FTS5's own check of the search index in quick_check: doctor reports (and rebuilds) that as `search-index`.
  const problems = check.rows.map((row) => String(Object.values(row)[0])).filter((text) => text !== 'ok' && !text.includes('table "search_fts"'))
  return {fix: damagedDatabaseRecovery(layout.database), problems, where: layout.database}
}

/**
 * Bytes of the metadata database: on SQLite the file and its WAL; on PostgreSQL
 * `pg_database_size()` of the store's database (tables, indexes, TOAST: the content too).
 */
export async function databaseBytes(ctx: StoreContext, layout: StoreLayout): Promise<number> {
  if (ctx.dialect === 'postgres') {
    const {rows} = await sql<{bytes: number}>`select pg_database_size(current_database()) as bytes`.execute(ctx.db)
    return Number(rows[0]!.bytes)
  }
  const file = (path: string) => lstatSync(path, {throwIfNoEntry: false})?.size ?? 0
  return file(layout.database) + file(`${layout.database}-wal`)
}

/**
 * What the catalog of a PostgreSQL store says is wrong, in the store's schema
 * (https://www.postgresql.org/docs/current/catalogs.html):
 * - indexes not valid or not ready (`pg_index.indisvalid`, `indisready`: a failed `CREATE INDEX
 *   CONCURRENTLY` or `REINDEX`), which the planner ignores and unique ones no longer enforce;
 * - constraints not validated (`pg_constraint.convalidated`: added `NOT VALID`), whose rows may break them;
 * - tables without a primary key (every table of the store has one; a missing one lets duplicates in);
 * - data checksum failures the server counted in this database (`pg_stat_database.checksum_failures`,
 *   PostgreSQL 12+, with data checksums on): pages that did not read back as written.
 * Each is one cheap query on the catalog or the statistics; no table is read.
 */
async function postgresProblems(db: Kysely<Database>): Promise<string[]> {
  const problems: string[] = []
  const {rows: indexes} = await sql<{name: string; table: string}>`
    select c.relname as name, t.relname as table
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
    where t.relnamespace = current_schema()::regnamespace and not (i.indisvalid and i.indisready)
    order by c.relname`.execute(db)
  for (const {name, table} of indexes) problems.push(`index ${name} of table ${table} is not valid`)
  const {rows: constraints} = await sql<{name: string; table: string}>`
    select con.conname as name, t.relname as table
    from pg_constraint con join pg_class t on t.oid = con.conrelid
    where con.connamespace = current_schema()::regnamespace and not con.convalidated
    order by con.conname`.execute(db)
  for (const {name, table} of constraints) problems.push(`constraint ${name} of table ${table} is not validated`)
  const {rows: tables} = await sql<{table: string}>`
    select t.relname as table from pg_class t
    where t.relnamespace = current_schema()::regnamespace and t.relkind = 'r'
      and not exists (select 1 from pg_constraint con where con.conrelid = t.oid and con.contype = 'p')
    order by t.relname`.execute(db)
  for (const {table} of tables) problems.push(`table ${table} has no primary key`)
  const {rows: checksums} = await sql<{failures: number | null}>`select checksum_failures as failures from pg_stat_database where datname = current_database()`.execute(db)
  const failures = Number(checksums[0]?.failures ?? 0)
  if (failures > 0) problems.push(`the server counted ${failures} data checksum failure(s) in this database`)
  return problems
}

/** `postgres://user@host:port/database` of the connection (`postgres:///database` over a Unix socket). */
async function postgresWhere(db: Kysely<Database>): Promise<string> {
  const {rows} = await sql<{user: string; host: string | null; port: number | null; database: string}>`
    select current_user as user, host(inet_server_addr()) as host, inet_server_port() as port, current_database() as database`.execute(db)
  const {database, host, port, user} = rows[0]!
  return host === null ? `postgres:///${database}` : `postgres://${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${database}`
}
