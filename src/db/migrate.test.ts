import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {sql} from 'kysely'
import {Migrator} from 'kysely/migration'
import {describe, expect, it} from 'vitest'
import {tempDir} from '../../test/helpers/cli.ts'
import {StorageError} from '../errors/index.ts'
import {connectDatabase, type MetadataDatabase} from './connect.ts'
import {migrateToLatest, migrationStatus} from './migrate.ts'
import {migrationProvider} from './migrations/index.ts'

/** A database at the schema before full-text search and compression: two migrations behind. */
async function databaseBehind(home: string): Promise<MetadataDatabase> {
  mkdirSync(home, {mode: 0o700})
  const database = connectDatabase(join(home, 'sess.db'))
  const {error} = await new Migrator({db: database.db, provider: migrationProvider}).migrateTo('2026-11-21T04-coordinator')
  expect(error).toBeUndefined()
  return database
}

async function columns(database: MetadataDatabase, table: string): Promise<string[]> {
  const rows = await sql<{name: string}>`select name from pragma_table_info(${table})`.execute(database.db)
  return rows.rows.map((row) => row.name)
}

async function close(database: MetadataDatabase): Promise<void> {
  await Promise.all([database.db.destroy(), database.relaxedDb.destroy()])
  database.close()
}

describe('migrateToLatest', () => {
  it('applies each migration whole or not at all: one that fails half way leaves none of its statements, and runs whole once the cause is gone', async () => {
    const dir = tempDir('sess-migrate-')
    try {
      const database = await databaseBehind(join(dir.path, 'store'))
      try {
        // The compression migration adds three columns to versions, then three to snapshots: make its fifth statement fail.
        await sql`alter table snapshots add column stored_bytes bigint`.execute(database.db)
        const versionsBefore = await columns(database, 'versions')
        const failed = await migrateToLatest(database.db, join(dir.path, 'store', 'migrate.lock'), database.beginWrite).catch((error: unknown) => error)
        expect(failed).toBeInstanceOf(StorageError)
        expect((failed as StorageError).message).toMatch(/Migration 2026-11-21T06-compression failed: duplicate column name: stored_bytes/)
        // The search migration before it (which opens a transaction of its own) was applied; nothing of the compression migration was.
        expect(await columns(database, 'versions')).toEqual(versionsBefore)
        const status = await migrationStatus(database.db)
        expect(status.filter((m) => m.appliedAt === null).map((m) => m.name)).toEqual(['2026-11-21T06-compression'])
        expect((await sql<{n: number}>`select count(*) as n from search_docs`.execute(database.db)).rows).toEqual([{n: 0}])

        await sql`alter table snapshots drop column stored_bytes`.execute(database.db)
        expect(await migrateToLatest(database.db, join(dir.path, 'store', 'migrate.lock'), database.beginWrite)).toEqual(['2026-11-21T06-compression'])
        expect(await columns(database, 'versions')).toEqual([...versionsBefore, 'codec', 'stored_bytes', 'stored_sha256'])
        expect((await migrationStatus(database.db)).every((m) => m.appliedAt !== null)).toBe(true)
      } finally {
        await close(database)
      }
    } finally {
      dir.remove()
    }
  })

  it('runs a migration that opens a transaction of its own as a savepoint of the migration: its rollback undoes only its own work', async () => {
    const dir = tempDir('sess-migrate-nested-')
    try {
      const database = await databaseBehind(join(dir.path, 'store'))
      try {
        await database.db.connection().execute(async (connection) => {
          await sql.raw(database.beginWrite).execute(connection)
          await sql`create table outer_work (n integer)`.execute(connection)
          const inner = await connection
            .transaction()
            .execute(async (trx) => {
              await sql`create table inner_work (n integer)`.execute(trx)
              throw new Error('the inner transaction fails')
            })
            .catch((error: Error) => error.message)
          expect(inner).toBe('the inner transaction fails')
          await connection.transaction().execute((trx) => sql`insert into outer_work values (1)`.execute(trx))
          await sql`commit`.execute(connection)
        })
        const tables = await sql<{name: string}>`select name from sqlite_master where name in ('outer_work', 'inner_work')`.execute(database.db)
        expect(tables.rows).toEqual([{name: 'outer_work'}])
        expect((await sql<{n: number}>`select n from outer_work`.execute(database.db)).rows).toEqual([{n: 1}])
      } finally {
        await close(database)
      }
    } finally {
      dir.remove()
    }
  })
})
