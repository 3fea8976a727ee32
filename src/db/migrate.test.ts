import {join} from 'node:path'
import {sql} from 'kysely'
import {Migrator} from 'kysely/migration'
import {describe, expect, it} from 'vitest'
import {useTempDir} from '../../test/helpers/cli.ts'
import {DiskFullError, StorageError} from '../errors/index.ts'
import {openStore} from '../store/open-store.ts'
import {connectDatabase} from './connect.ts'
import {migrateToLatest, migrationStatus} from './migrate.ts'
import {migrationProvider} from './migrations/index.ts'

const dir = useTempDir('sess-migrate-')

/** The columns of `table`. */
async function columns(db: Awaited<ReturnType<typeof connectDatabase>>['db'], table: string): Promise<string[]> {
  const rows = await sql<{name: string}>`select name from pragma_table_info(${table})`.execute(db)
  return rows.rows.map((row) => row.name)
}

describe('migrateToLatest', () => {
  it('applies the pending migrations all or none: one that fails at its last statement leaves none of its earlier ones', async () => {
    const home = join(dir.path, 'store')
    const original = '{"sess":1,"session":{"kind":"chat"}}\n{"type":"message","role":"user","parts":[{"type":"text","text":"kept words"}]}\n'
    const saved = await (async () => {
      await using store = await openStore({home})
      return await store.save({bytes: new TextEncoder().encode(original), name: 'kept'})
    })()
    const database = await connectDatabase(join(home, 'sess.db'))
    try {
      // An older store: the last two migrations (search, then compression's six columns) undone.
      const {error} = await new Migrator({db: database.db, provider: migrationProvider}).migrateTo('2026-11-21T04-coordinator')
      expect(error).toBeUndefined()
      // The compression migration's last statement will fail: its column is there already.
      await sql`alter table snapshots add column stored_sha256 text`.execute(database.db)
      await expect(migrateToLatest(database.db, join(home, 'migrate.lock'))).rejects.toThrow(StorageError)
      // Neither the search index (the migration before it) nor compression's first five columns were left behind.
      expect(await columns(database.db, 'versions')).not.toContain('codec')
      expect(await columns(database.db, 'search_docs')).toEqual([])
      const pending = (await migrationStatus(database.db)).filter((m) => m.appliedAt === null).map((m) => m.name)
      expect(pending).toEqual(['2026-11-21T05-search', '2026-11-21T06-compression', '2026-11-21T07-blob-chunks'])
      // Once the obstacle is gone, the same run applies both.
      await sql`alter table snapshots drop column stored_sha256`.execute(database.db)
      expect(await migrateToLatest(database.db, join(home, 'migrate.lock'))).toEqual(pending)
      expect(await columns(database.db, 'versions')).toEqual(expect.arrayContaining(['codec', 'stored_bytes', 'stored_sha256']))
    } finally {
      await database.destroy()
    }
    await using store = await openStore({home})
    expect(new TextDecoder().decode((await store.restore(saved.sessionId)).bytes)).toBe(original)
    expect(await store.search('kept words', {limit: 0})).toHaveLength(1)
  })

  it('fails with a DiskFullError when the database cannot grow, and applies nothing', async () => {
    const home = join(dir.path, 'full')
    await (await openStore({home})).close()
    const database = await connectDatabase(join(home, 'sess.db'))
    try {
      const {error} = await new Migrator({db: database.db, provider: migrationProvider}).migrateTo('2026-11-21T04-coordinator')
      expect(error).toBeUndefined()
      // The database may not grow by a page, and has no free page (vacuumed): SQLite fails the search index's tables with SQLITE_FULL, as on a full disk.
      await sql`vacuum`.execute(database.db)
      const {rows} = await sql<{page_count: number}>`pragma page_count`.execute(database.db)
      await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(database.db)
      const failure = await migrateToLatest(database.db, join(home, 'migrate.lock')).catch((caught: unknown) => caught)
      expect(failure).toBeInstanceOf(DiskFullError)
      expect((failure as DiskFullError).message).toContain(`The disk holding ${home} is full`)
      const pending = (await migrationStatus(database.db)).filter((m) => m.appliedAt === null).map((m) => m.name)
      expect(pending).toEqual(['2026-11-21T05-search', '2026-11-21T06-compression', '2026-11-21T07-blob-chunks'])
    } finally {
      await database.destroy()
    }
  })
})
