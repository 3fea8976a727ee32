import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import type {VersionsTable} from '../../../src/db/schema.ts'
import {StorageError} from '../../../src/errors/index.ts'
import {readBlobOfRow} from '../../../src/store/blob-rows.ts'
import {sha256} from '../../../src/store/blob-store.ts'
import {openStore} from '../../../src/store/open-store.ts'
import type {Store} from '../../../src/store/store.ts'
import {tempDir} from '../../../test/helpers/cli.ts'
import {DIALECTS, runSql, type StoreTarget, storeTarget} from '../../../test/helpers/dialects.ts'
import {DAY} from '../../../test/helpers/gc-store.ts'
import {type StoredContent, storedContent} from '../../../test/helpers/store-content.ts'
import {CODEC_MAGIC, encode} from '../../persistence/src/blobs/codec.ts'
import {FileBlobStore} from '../../persistence/src/blobs/file-blob-store.ts'

const NOW = Date.UTC(2026, 0, 1)

type VersionsRow = {[K in keyof VersionsTable]: VersionsTable[K]}

/** A JSONL original of `lines` lines, distinct per `seed`, that compresses well. */
function original(seed: number, lines = 40): Uint8Array {
  let text = ''
  for (let line = 0; line < lines; line++) text += `${JSON.stringify({line, seed, text: `message ${line} of session ${seed}: `.repeat(4)})}\n`
  return new TextEncoder().encode(text)
}

const isZstd = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 4)).equals(CODEC_MAGIC.zstd)

describe.each(DIALECTS)('store.gc compresses the blobs of idle sessions, on %s', (dialect) => {
  let target: StoreTarget
  let content: StoredContent
  let store: Store
  const clock = {now: NOW - 30 * DAY}
  /** The blob of version `version` of a session, as its row names it. */
  const blobOf = async (sessionId: string, version = 1) => (await runSql<{blob: string}>(target, 'select blob from versions where session_id = ? and version = ?', sessionId, version))[0]!.blob

  beforeEach(async () => {
    target = await storeTarget(dialect, 'sess-compress-')
    content = storedContent(target)
    clock.now = NOW - 30 * DAY
    store = await openStore({...target.options, now: () => clock.now})
  })
  afterEach(async () => {
    await store.close()
    await target.remove()
  })

  it('compresses in place; restore, versions and snapshots read back byte-identical; stats count both sizes', async () => {
    const one = await store.save({bytes: original(1), format: 'raw', name: 'one'})
    await store.save({bytes: original(2), format: 'raw', into: 'one'})
    const chat = await store.create({name: 'chat', status: 'completed'})
    const state = {draft: 'Dear customer, '.repeat(50)}
    await store.snapshot(chat.id, state)
    clock.now = NOW - 10 * DAY
    const recent = await store.save({bytes: original(3), format: 'raw', name: 'recent'})
    clock.now = NOW

    const plan = await store.gc({compressAfter: 14 * DAY}, {dryRun: true})
    const planned = plan.items.filter((item) => item.action === 'compress')
    expect(planned.map((item) => [item.name, item.type, item.bytesAfter])).toEqual([
      ['one', 'blob', null],
      ['one', 'blob', null],
      ['chat', 'blob', null],
    ])
    expect(planned[0]!.reason).toBe('version 1; the session has been idle for 30d, over 14d (compressAfter)')
    expect(planned[2]!.reason).toMatch(/^snapshot 1; /)
    expect([...(await content.blobs(one.sessionId)).values()].some(isZstd)).toBe(false) // a dry run writes nothing

    const before = await content.blobs(one.sessionId)
    const report = await store.gc({compressAfter: 14 * DAY})
    expect(report.items.filter((item) => item.action === 'compress')).toHaveLength(3)
    for (const item of report.items) {
      expect(item.bytesAfter).toBeLessThan(item.bytes)
      expect(isZstd(await content.read(item.path!))).toBe(true)
    }
    expect(report.compressed).toEqual({
      blobs: 3,
      bytes: report.items.reduce((sum, item) => sum + item.bytes, 0),
      storedBytes: report.items.reduce((sum, item) => sum + item.bytesAfter!, 0),
    })
    const after = await content.blobs(one.sessionId)
    expect([...after.keys()].some((name) => before.has(name))).toBe(false) // new blobs; the old ones deleted
    expect([...after.values()].every(isZstd)).toBe(true)
    expect([...(await content.blobs(recent.sessionId)).values()].some(isZstd)).toBe(false)

    expect((await store.restore('one')).bytes).toEqual(original(2))
    expect((await store.restore('one', {version: 1})).bytes).toEqual(original(1))
    expect((await store.latestSnapshot('chat')).bytes).toEqual(new TextEncoder().encode(JSON.stringify(state)))
    const versions = await store.versions('one')
    expect(versions.map((v) => [v.codec, v.sha256, v.bytes])).toEqual([
      ['zstd', sha256(original(1)), original(1).length],
      ['zstd', sha256(original(2)), original(2).length],
    ])
    expect(versions[0]!.storedBytes).toBe(after.get(await blobOf(one.sessionId))!.length)

    const stats = await store.stats()
    expect(stats.blobs).toEqual({
      bytes: original(1).length + original(2).length + original(3).length + JSON.stringify(state).length,
      compressed: 3,
      count: 4,
      storedBytes: report.compressed.storedBytes + original(3).length,
    })
    expect(stats.disk.blobs).toBe(stats.blobs.storedBytes)
    expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
    // Nothing left to do for those blobs.
    expect((await store.gc({compressAfter: 14 * DAY}, {dryRun: true})).items).toEqual([])
  })

  it('a compressed session takes appends, new versions, snapshots and forks as before', async () => {
    await store.save({bytes: original(1), format: 'raw', name: 'one'})
    const chat = await store.create({name: 'chat', status: 'completed'})
    for (let n = 1; n <= 3; n++) await store.snapshot(chat.id, {n, text: 'state '.repeat(100)}, {keep: 3})
    clock.now = NOW
    await store.gc({compressAfter: DAY})
    expect((await store.versions('one'))[0]!.codec).toBe('zstd')

    await store.setStatus(chat.id, 'active')
    expect(await store.append(chat.id, {label: 'back', type: 'marker'})).toBe(1)
    await store.snapshot(chat.id, {n: 4, text: 'state '.repeat(100)}, {keep: 3}) // prunes the oldest, compressed one
    expect((await store.latestSnapshot('chat')).bytes).toEqual(new TextEncoder().encode(JSON.stringify({n: 4, text: 'state '.repeat(100)})))
    expect((await store.latestSnapshot('chat', 2)).bytes).toEqual(new TextEncoder().encode(JSON.stringify({n: 2, text: 'state '.repeat(100)})))
    await expect(store.latestSnapshot('chat', 1)).rejects.toThrow(/no snapshot 1/)

    const saved = await store.save({bytes: original(2), format: 'raw', into: 'one'})
    expect(saved.version).toBe(2)
    expect((await store.save({bytes: original(1), format: 'raw', into: 'one'})).unchanged).toBe(true) // found by the original's SHA-256
    expect((await store.versions('one')).map((v) => v.codec)).toEqual(['zstd', null])

    const fork = await store.fork('one', 'one-fork')
    expect((await store.restore(fork.id)).bytes).toEqual(original(2))
    expect((await store.versions(fork.id)).map((v) => v.codec)).toEqual([null])
    const forkOfCompressed = await store.fork(chat.id, 'chat-fork')
    expect(forkOfCompressed.recordCount).toBe(1)
    expect(await store.doctor()).toMatchObject({clean: true})

    // Idle again: only what is new is compressed, and not while the session is in use (active, its owner alive).
    clock.now = NOW + 2 * DAY
    const items = async () => (await store.gc({compressAfter: DAY})).items.map((item) => [item.action, item.name, item.reason.split(';')[0]])
    expect(await items()).toEqual([['compress', 'one', 'version 2']])
    await store.setStatus(chat.id, 'completed')
    clock.now = NOW + 4 * DAY
    expect(await items()).toEqual([['compress', 'chat', 'snapshot 4']])
    expect((await store.restore('one')).bytes).toEqual(original(2))
  })

  it('leaves alone sessions in use (locked by a live lease, or active with a live owner) and in the trash, compresses pinned ones, and compressAfter null turns it off', async () => {
    const names = ['locked', 'pinned', 'trashed', 'plain']
    for (const [seed, name] of names.entries()) await store.save({bytes: original(seed), format: 'raw', name})
    await store.pin('pinned')
    await store.remove('trashed')
    const live = await store.create({name: 'live'}) // active, owned by this process
    await store.snapshot(live.id, 'x'.repeat(1000))
    clock.now = NOW
    await using _lease = await store.lock('locked', {ttl: 3_600_000})
    expect((await store.gc({compressAfter: null, trashGrace: 365 * DAY})).items).toEqual([])
    const report = await store.gc({compressAfter: DAY, trashGrace: 365 * DAY})
    expect(report.items.map((item) => item.name).sort()).toEqual(['pinned', 'plain'])
    expect((await store.versions('locked'))[0]!.codec).toBeNull()
    expect((await store.versions('trashed', {includeTrashed: true}))[0]!.codec).toBeNull()
    // Nor a session this run moves to the trash.
    await store.save({bytes: original(9), format: 'raw', name: 'expiring'})
    clock.now = NOW + 60 * DAY
    const expiring = await store.gc({compressAfter: DAY, keepAtLeast: 0, maxAge: 30 * DAY, trashGrace: 365 * DAY})
    expect(expiring.items.filter((item) => item.name === 'expiring').map((item) => item.action)).toEqual(['trash'])
  })

  it('keeps as is, and never tries again, a blob that compression would not shrink', async () => {
    const tiny = new TextEncoder().encode('{"a":1}\n')
    await store.save({bytes: tiny, format: 'raw', name: 'tiny'})
    clock.now = NOW
    const report = await store.gc({compressAfter: DAY})
    expect(report.items).toEqual([])
    expect(report.skipped.map((s) => [s.item.name, s.reason])).toEqual([['tiny', `compression would not shrink it (${tiny.length} → ${encode('zstd', tiny).length} bytes): it stays as is, and is not tried again`]])
    expect((await store.gc({compressAfter: DAY}, {dryRun: true})).items).toEqual([])
    expect((await store.restore('tiny')).bytes).toEqual(tiny)
    expect((await store.stats()).blobs).toMatchObject({compressed: 0, count: 1})
  })

  it('a damaged compressed blob fails restore and doctor with "damaged"; doctor --fix quarantines it', async () => {
    const saved = await store.save({bytes: original(1), format: 'raw', name: 'one'})
    clock.now = NOW
    const [item] = (await store.gc({compressAfter: DAY})).items
    const blob = await blobOf(saved.sessionId)
    expect(item!.path).toBe(content.locate(saved.sessionId, blob))
    const bytes = await content.read(item!.path!)
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01
    await content.write(saved.sessionId, blob, bytes)
    await expect(store.restore('one')).rejects.toThrow(StorageError)
    await expect(store.restore('one')).rejects.toThrow(/ is damaged: SHA-256 [0-9a-f]{64} \(\d+ bytes\) \(zstd\), expected/)
    const report = await store.doctor()
    expect(report.findings.map((f) => [f.kind, f.sessionId, f.path])).toEqual([['checksum-mismatch', saved.sessionId, item!.path]])
    expect(report.findings[0]!.message).toMatch(/version 1: the zstd-compressed content's SHA-256 is/)
    expect((await store.doctor({fix: true})).clean).toBe(true)
    expect((await store.doctor()).clean).toBe(true)
  })

  it('reads a gzip blob too: the codec is kept per blob', async () => {
    const saved = await store.save({bytes: original(7), format: 'raw', name: 'gz'})
    const [version] = await store.versions('gz')
    const stored = encode('gzip', original(7))
    await content.write(saved.sessionId, await blobOf(saved.sessionId), stored)
    await runSql(target, "update versions set codec = 'gzip', stored_bytes = ?, stored_sha256 = ? where session_id = ?", stored.length, sha256(stored), saved.sessionId)
    expect(version!.codec).toBeNull()
    expect((await store.restore('gz')).bytes).toEqual(original(7))
    expect((await store.versions('gz'))[0]!.codec).toBe('gzip')
    expect(await store.doctor()).toMatchObject({clean: true})
  })
})

// SQLite only: it reads through a FileBlobStore of its own, beside the store, as a reader in another process would.
describe('store.gc compressing beside a reader of blob files', () => {
  let dir: {path: string; remove: () => void}
  let home: string
  let store: Store
  const clock = {now: NOW - 30 * DAY}

  beforeEach(async () => {
    dir = tempDir('sess-compress-')
    home = join(dir.path, 'store')
    clock.now = NOW - 30 * DAY
    store = await openStore({home, now: () => clock.now})
  })
  afterEach(async () => {
    await store.close()
    dir.remove()
  })

  it('a reader whose row went stale while gc switched it to a compressed file reads the row again', async () => {
    const saved = await store.save({bytes: original(1), format: 'raw', name: 'one'})
    const {Database} = await import('bun:sqlite')
    const db = new Database(join(home, 'sess.db'), {readonly: true})
    try {
      const select = () => db.query('select * from versions where session_id = ?').get(saved.sessionId) as VersionsRow
      const stale = select()
      clock.now = NOW
      await store.gc({compressAfter: DAY})
      expect(select().blob).not.toBe(stale.blob)
      const blobs = new FileBlobStore(join(home, 'blobs'))
      let loads = 0
      const read = await readBlobOfRow({blobs}, saved.sessionId, async () => (++loads === 1 ? stale : select()))
      expect(loads).toBe(2)
      expect(read?.bytes).toEqual(original(1))
      expect(read?.row.codec).toBe('zstd')
      // A row that still names a missing file is an error, not a loop.
      await expect(readBlobOfRow({blobs}, saved.sessionId, async () => stale)).rejects.toThrow(/Could not read .*ENOENT/)
    } finally {
      db.close(false)
    }
  })
})
