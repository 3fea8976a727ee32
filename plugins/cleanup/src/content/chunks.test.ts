/**
 * Content in `blob_chunks` (a store on PostgreSQL), as gc and doctor see it, through
 * {@link ChunkContent} directly: the chunks are written here as rows, as a blob store that keeps
 * content in the database writes them (chunks `seq` 0, 1, … of a blob, in a transaction of their
 * own), and what crashes leave is made the same way. PostgreSQL only: it is about that table.
 */
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {LifecycleBus} from '../../../../src/bus/index.ts'
import {connectDatabase} from '../../../../src/db/connect.ts'
import {migrateToLatest} from '../../../../src/db/migrate.ts'
import {sha256} from '../../../../src/store/blob-store.ts'
import {AdvisoryLockSpace} from '../../../../src/store/locks/advisory-lock-space.ts'
import {StoreContext} from '../../../../src/store/context.ts'
import {type StoreLayout, storeLayout} from '../../../../src/store/home.ts'
import {DEFAULT_PLUGINS} from '../../../../src/store/open-store.ts'
import {createSession} from '../../../../src/store/sessions.ts'
import {type StoreTarget, storeTarget} from '../../../../test/helpers/dialects.ts'
import {FileBlobStore} from '../../../persistence/src/blobs/file-blob-store.ts'
import {emptyReport, execute, planLitter, sweep} from '../gc.ts'
import {ChunkContent} from './chunks.ts'

const NOW = Date.UTC(2026, 0, 1)
const UNKNOWN = '01JD0000000000000000000002'

/** `length` bytes, distinct per `seed`. */
function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({length}, (_, i) => (i * 31 + seed) % 251)
}

describe('content in blob_chunks (PostgreSQL)', () => {
  let target: StoreTarget
  let layout: StoreLayout
  let ctx: StoreContext

  beforeEach(async () => {
    target = await storeTarget('postgres', 'sess-chunks-')
    mkdirSync(target.home, {mode: 0o700, recursive: true})
    layout = storeLayout(target.home)
    const database = await connectDatabase(target.databaseUrl!)
    await migrateToLatest(database.db, layout.migrateLock)
    const bus = new LifecycleBus()
    for (const plugin of DEFAULT_PLUGINS) await bus.use(plugin)
    // The context's blob store is not used here: the content is written as rows by the tests.
    ctx = new StoreContext({
      adoptedLeases: [],
      beginWrite: database.beginWrite,
      blobs: new FileBlobStore(layout.blobs),
      bus,
      closeDatabase: database.close,
      db: database.db,
      dialect: database.dialect,
      home: target.home,
      locks: new AdvisoryLockSpace(target.databaseUrl!),
      lockWait: 0,
      now: () => NOW,
      relaxedDb: database.relaxedDb,
      search: database.search,
    })
  })
  afterEach(async () => {
    await ctx.close()
    await target.remove()
  })

  /** Writes a blob as chunks of `chunk` bytes (`quarantinedAt`: set aside then). */
  const putChunks = async (sessionId: string, blob: string, data: Uint8Array, chunk = 1_000, quarantinedAt: number | null = null) => {
    const rows = []
    for (let seq = 0; seq * chunk < data.length; seq++) rows.push({blob, data: data.subarray(seq * chunk, (seq + 1) * chunk), quarantined_at: quarantinedAt, seq, session_id: sessionId})
    await ctx.db.insertInto('blob_chunks').values(rows).execute()
  }
  /** A version row naming `blob` (of `data`, stored as is). */
  const putVersion = async (sessionId: string, version: number, blob: string, data: Uint8Array) => {
    await ctx.db.insertInto('versions').values({blob, bytes: data.length, codec: null, created_at: NOW, damage: '[]', format: 'raw', session_id: sessionId, sha256: sha256(data), stored_bytes: null, stored_sha256: null, version}).execute()
    await ctx.db.updateTable('sessions').set({version_count: version}).where('id', '=', sessionId).execute()
  }
  const chunkState = async () =>
    (await ctx.db.selectFrom('blob_chunks').select(['session_id', 'blob', 'quarantined_at']).distinct().orderBy('session_id').orderBy('blob').execute()).map((row) => [row.session_id, row.blob, row.quarantined_at])

  it('lists the blobs of each session with their chunks summed, and the quarantine by time; reads, hashes and counts them', async () => {
    const session = await createSession(ctx, {name: 'one'})
    const long = bytes(20_500, 1)
    await putChunks(session.id, 'B1', long)
    await putChunks(session.id, 'B2', bytes(10, 2))
    await putChunks(session.id, 'Q1', bytes(300, 3), 100, 123)
    await putChunks(UNKNOWN, 'X1', bytes(7, 4))
    // The home's own files are checked; its blobs/ (the home's SQLite store's content) is left alone.
    writeFileSync(join(layout.home, '.config.json.tmp-0123456789ab'), 'torn', {mode: 0o600})
    mkdirSync(join(layout.blobs, session.id), {mode: 0o700, recursive: true})
    writeFileSync(join(layout.blobs, session.id, '.x.tmp-0123456789ab'), 'not ours', {mode: 0o600})
    symlinkSync('/etc/hostname', join(layout.blobs, 'link'))

    const content = new ChunkContent(ctx, layout, NOW)
    const scan = await content.scan()
    const listed = [...scan.dirs].map(([id, dir]) => ({blobs: [...dir.blobs.values()].sort((x, y) => x.blob.localeCompare(y.blob)), id, path: dir.path}))
    // The unknown session's id is older than any made now.
    expect(listed.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      {blobs: [{blob: 'X1', bytes: 7, path: `blob_chunks:${UNKNOWN}/X1`}], id: UNKNOWN, path: `blob_chunks:${UNKNOWN}`},
      {
        blobs: [
          {blob: 'B1', bytes: 20_500, path: `blob_chunks:${session.id}/B1`},
          {blob: 'B2', bytes: 10, path: `blob_chunks:${session.id}/B2`},
        ],
        id: session.id,
        path: `blob_chunks:${session.id}`,
      },
    ])
    expect(scan.quarantine).toEqual([{at: 123, bytes: 300, path: 'blob_chunks:quarantine/123'}])
    expect(scan.temps).toEqual([{bytes: 4, path: join(layout.home, '.config.json.tmp-0123456789ab')}])
    expect([scan.symlinks, scan.strays]).toEqual([[], []])
    expect(await content.quarantineBatches()).toEqual(scan.quarantine)

    expect(await content.storedLength(session.id, 'B1')).toBe(20_500)
    expect(await content.storedLength(session.id, 'Q1')).toBeUndefined() // quarantined
    expect(await content.storedLength(session.id, 'nope')).toBeUndefined()
    expect(await content.storedSha256(session.id, 'B1')).toBe(sha256(long)) // 21 chunks: read a page at a time
    expect(await content.storedSha256(session.id, 'nope')).toBeUndefined()
    expect(await content.blobBytes()).toBe(20_500 + 10 + 7)
  })

  it("gc's plan quarantines orphans and damaged blobs by marking them, unindexes rows without content, and deletes the batch later", async () => {
    const session = await createSession(ctx, {name: 'one'})
    const good = bytes(2_500, 1)
    await putVersion(session.id, 1, 'V1', good)
    await putChunks(session.id, 'V1', good)
    await putVersion(session.id, 2, 'V2', bytes(50, 2)) // its chunks never committed
    await putVersion(session.id, 3, 'V3', bytes(50, 3))
    await putChunks(session.id, 'V3', bytes(40, 3)) // short
    await putChunks(session.id, 'O1', bytes(15, 4)) // no row names it
    await putChunks(session.id, 'O2', bytes(16, 5)) // a row comes to name it after the plan
    await putChunks(UNKNOWN, 'X1', bytes(10, 6))

    const content = new ChunkContent(ctx, layout, NOW)
    const {inventory, scan} = await sweep(ctx, content)
    const planned = planLitter(inventory, scan)
    expect(planned.map(({item}) => [item.action, item.type, item.path, item.bytes])).toEqual([
      ['quarantine', 'orphan', `blob_chunks:${UNKNOWN}`, 10],
      ['quarantine', 'orphan', `blob_chunks:${session.id}/O1`, 15],
      ['quarantine', 'orphan', `blob_chunks:${session.id}/O2`, 16],
      ['unindex', 'missing-content', null, 0],
      ['unindex', 'missing-content', `blob_chunks:${session.id}/V3`, 40],
    ])
    expect(planned.at(-1)!.item.reason).toBe('version 3: its blob holds 40 bytes, not 50 (moved to the quarantine)')
    await putVersion(session.id, 4, 'O2', bytes(16, 5))

    const report = emptyReport(false)
    await execute(ctx, content, planned, report, NOW)
    expect(report.skipped.map(({item, reason}) => [item.path, reason])).toEqual([[`blob_chunks:${session.id}/O2`, 'a row names it now']])
    expect(report.items.map((item) => item.path)).toEqual([`blob_chunks:${UNKNOWN}`, `blob_chunks:${session.id}/O1`, null, `blob_chunks:${session.id}/V3`])
    expect(report.quarantine).toBe(`blob_chunks:quarantine/${NOW}`)
    expect(await chunkState()).toEqual([
      [UNKNOWN, 'X1', NOW],
      [session.id, 'O1', NOW],
      [session.id, 'O2', null],
      [session.id, 'V1', null],
      [session.id, 'V3', NOW],
    ])
    expect((await ctx.db.selectFrom('versions').select('version').where('session_id', '=', session.id).orderBy('version').execute()).map((row) => row.version)).toEqual([1, 4])

    // Nothing left to do but the batch, which gc deletes after the grace period.
    const again = await sweep(ctx, content)
    expect(planLitter(again.inventory, again.scan)).toEqual([])
    expect(again.scan.quarantine).toEqual([{at: NOW, bytes: 10 + 15 + 40, path: `blob_chunks:quarantine/${NOW}`}])
    await content.deleteBatch(again.scan.quarantine[0]!.path)
    expect(await chunkState()).toEqual([
      [session.id, 'O2', null],
      [session.id, 'V1', null],
    ])
    expect(await content.storedSha256(session.id, 'V1')).toBe(sha256(good))
  })

  it('deletes every chunk of the sessions purged, and only theirs', async () => {
    const [a, b] = [await createSession(ctx, {name: 'a'}), await createSession(ctx, {name: 'b'})]
    await putChunks(a.id, 'A1', bytes(2_000, 1))
    await putChunks(a.id, 'A2', bytes(10, 2), 1_000, 77)
    await putChunks(b.id, 'B1', bytes(10, 3))
    const content = new ChunkContent(ctx, layout, NOW)
    expect(await content.deleteSessions([a.id])).toEqual(new Map())
    expect(await chunkState()).toEqual([[b.id, 'B1', null]])
  })
})
