import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {FileBlobStore} from '../../plugins/persistence/src/blobs/file-blob-store.ts'
import {useTempDir} from '../../test/helpers/cli.ts'
import {LifecycleBus} from '../bus/index.ts'
import {connectDatabase} from '../db/connect.ts'
import {migrateToLatest} from '../db/migrate.ts'
import {DiskFullError} from '../errors/index.ts'
import {diskOf} from '../os/disk-space.ts'
import {storeLayout} from './home.ts'
import {FileLockSpace} from './locks/file-lock-space.ts'
import {StoreContext} from './context.ts'
import {createSession} from './sessions.ts'
import {appendRecord, readRecords} from './transcript.ts'

const dir = useTempDir('sess-context-')

describe('StoreContext.write', () => {
  it("turns the database's disk-full failure into a DiskFullError naming the store's disk, and commits nothing of the failed write", async () => {
    const home = join(dir.path, 'store')
    mkdirSync(home)
    const database = await connectDatabase(join(home, 'sess.db'))
    await migrateToLatest(database.db, join(home, 'migrate.lock'))
    const ctx = new StoreContext({
      adoptedLeases: [],
      beginWrite: database.beginWrite,
      blobs: new FileBlobStore(join(home, 'blobs')),
      bus: new LifecycleBus(),
      closeDatabase: database.close,
      db: database.db,
      dialect: database.dialect,
      home,
      locks: new FileLockSpace(storeLayout(home)),
      lockWait: 0,
      now: Date.now,
      relaxedDb: database.relaxedDb,
      search: database.search,
    })
    try {
      const session = await createSession(ctx, {name: 'filling'})
      // The database may grow by 40 pages more: SQLite then fails the write with SQLITE_FULL, as on a full disk.
      const {rows} = await sql<{page_count: number}>`pragma page_count`.execute(ctx.db)
      await sql.raw(`pragma max_page_count = ${rows[0]!.page_count + 40}`).execute(ctx.db)
      let appended = 0
      let failure: unknown
      while (failure === undefined) {
        await appendRecord(ctx, session.id, {parts: [{text: `${appended + 1} ${'z'.repeat(20_000)}`, type: 'text'}], role: 'user', type: 'message'}, () => ({})).then(
          () => (appended += 1),
          (error: unknown) => (failure = error),
        )
      }
      expect(failure).toBeInstanceOf(DiskFullError)
      const error = failure as DiskFullError
      expect(error.message).toContain(`The disk holding ${home} is full`)
      expect(error.mountPoint).toBe(diskOf(home).mountPoint)
      expect(error.hint).toContain(`Free space on ${error.mountPoint}`)
      const seqs: number[] = []
      for await (const {seq} of readRecords(ctx, session.id, {})) seqs.push(seq)
      expect(appended).toBeGreaterThan(0)
      expect(seqs).toEqual(Array.from({length: appended}, (_, i) => i + 1))
    } finally {
      await ctx.close()
    }
  })
})
