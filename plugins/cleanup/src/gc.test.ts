import {Database} from 'bun:sqlite'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {LockError, VetoError} from '../../../src/errors/index.ts'
import type {Store} from '../../../src/store/store.ts'
import {tempDir} from '../../../test/helpers/cli.ts'
import {DAY, GC_NOW, generateGcStore} from '../../../test/helpers/gc-store.ts'
import type {RetentionPolicy} from './policy.ts'

const trashed = async (store: Store, policy: RetentionPolicy) => {
  const report = await store.gc(policy, {dryRun: true})
  return {kept: report.kept.map((k) => [k.name, k.keptBy]), trash: report.items.filter((i) => i.action === 'trash').map((i) => i.name)}
}

const PROTECTED = [
  ['live-owner', expect.stringMatching(/^active, its owner \(pid \d+ on .*\) may be alive$/)],
  ['locked', expect.stringMatching(/^locked by pid \d+ on host /)],
  ['pinned', 'pinned'],
]

describe('store.gc: the plan is exactly what the policy says', () => {
  const dir = tempDir('sess-gc-')
  let store: Store
  beforeAll(async () => {
    store = (await generateGcStore(join(dir.path, 'store'))).store
  })
  afterAll(async () => {
    await store.close()
    dir.remove()
  })

  it('no limits: only the stale lock is released', async () => {
    const report = await store.gc({}, {dryRun: true})
    expect(report.items.map((i) => [i.action, i.type, i.name])).toEqual([['release', 'stale-lock', 'stale-locked']])
    expect(report.items[0]!.reason).toMatch(/its owner|its holder \(pid \d+\) is gone/)
  })

  it('maxAge alone, by last activity', async () => {
    expect(await trashed(store, {maxAge: 30 * DAY})).toEqual({
      kept: PROTECTED.toReversed(),
      trash: ['keep-tag', 'old-chat', 'dead-owner', 'stale-locked'],
    })
  })

  it('maxSessions alone', async () => {
    expect((await trashed(store, {maxSessions: 5})).trash).toEqual(['keep-tag', 'old-chat', 'dead-owner', 'stale-locked'])
  })

  it('maxBytes alone: the newest that fit', async () => {
    expect((await trashed(store, {maxBytes: 100_000})).trash).toEqual(['keep-tag', 'old-chat', 'dead-owner', 'stale-locked', 'big'])
  })

  it('a kind rule alone, and a tag rule that keeps longer', async () => {
    expect((await trashed(store, {kinds: {terminal: {maxAge: 10 * DAY}}})).trash).toEqual(['term-old'])
    expect((await trashed(store, {maxAge: 30 * DAY, tags: {keep: {maxAge: 365 * DAY}}})).trash).toEqual(['old-chat', 'dead-owner', 'stale-locked'])
  })

  it('keepAtLeast alone keeps the newest N', async () => {
    const plan = await trashed(store, {keepAtLeast: 11, maxAge: 0})
    expect(plan.trash).toEqual(['keep-tag'])
  })

  it('all combined', async () => {
    const policy: RetentionPolicy = {kinds: {terminal: {maxAge: 10 * DAY}}, maxAge: 45 * DAY, maxSessions: 3, pinned: ['old-chat'], tags: {work: {keepAtLeast: 1}}}
    const plan = await trashed(store, policy)
    expect(plan.trash).toEqual(['keep-tag', 'dead-owner', 'stale-locked', 'big', 'term-old'])
    expect(plan.kept).toEqual([
      ['pinned', 'pinned'],
      PROTECTED[1],
      PROTECTED[0],
      ['old-chat', 'pinned by the policy'],
      ['mid-agent', 'among the newest 1 sessions of tag work (keepAtLeast)'],
    ])
    // Carried out: exactly those, each with its reason and bytes; then they are in the trash.
    const report = await store.gc(policy)
    expect(report.items.filter((i) => i.action === 'trash').map((i) => i.name)).toEqual(plan.trash)
    expect(report.items.find((i) => i.name === 'big')).toMatchObject({bytes: expect.any(Number), reason: expect.stringContaining('maxSessions')})
    expect(report.items.find((i) => i.name === 'big')!.bytes).toBeGreaterThan(200_000)
    expect((await store.list({trashed: true})).map((s) => s.name).sort()).toEqual([...plan.trash].sort())
    expect((await store.list()).map((s) => s.name).sort()).toEqual(['live-owner', 'locked', 'mid-agent', 'new-chat', 'old-chat', 'pinned', 'term-new'])
  })
})

describe('store.gc: trash, litter, plugins', () => {
  it('empties the trash after its grace period, and a trashed session comes back intact before', async () => {
    const dir = tempDir('sess-gc-trash-')
    try {
      const clock = {now: GC_NOW}
      const {openStore} = await import('../../../src/store/open-store.ts')
      await using store = await openStore({home: join(dir.path, 'store'), now: () => clock.now})
      const bytes = new TextEncoder().encode('{"type":"user","message":{"role":"user","content":"hi"}}\n')
      await store.save({bytes, format: 'raw', name: 'old'})
      await store.snapshot('old', {n: 1})
      await store.remove('old')
      clock.now += 7 * DAY
      expect((await store.gc({})).items).toEqual([])
      await store.untrash('old')
      expect(Buffer.from((await store.restore('old')).bytes).equals(Buffer.from(bytes))).toBe(true)
      const id = (await store.remove('old')).id
      clock.now += 7 * DAY + 1
      const report = await store.gc({})
      expect(report.items).toEqual([expect.objectContaining({action: 'purge', name: 'old', reason: expect.stringContaining('over the grace period of 7d'), sessionId: id, type: 'trashed-session'})])
      expect(report.bytesFreed).toBe(report.items[0]!.bytes)
      expect(existsSync(join(store.home, 'blobs', id))).toBe(false)
      await expect(store.get(id, {includeTrashed: true})).rejects.toThrow(/No session/)
    } finally {
      dir.remove()
    }
  })

  it('purges rows before content: when deleting the rows fails, the session stays in the trash with all its content', async () => {
    const dir = tempDir('sess-gc-purge-order-')
    try {
      const clock = {now: GC_NOW}
      const {openStore} = await import('../../../src/store/open-store.ts')
      await using store = await openStore({home: join(dir.path, 'store'), now: () => clock.now})
      const bytes = new TextEncoder().encode('{"kept": "whole"}\n')
      const {sessionId} = await store.save({bytes, format: 'raw', name: 'doomed'})
      await store.snapshot(sessionId, {n: 1})
      await store.remove(sessionId)
      clock.now += 7 * DAY + 1
      // A fault in the purge's transaction, as a kill between its two steps would leave it.
      const db = new Database(join(store.home, 'sess.db'))
      db.run("create trigger refuse_purge before delete on sessions begin select raise(abort, 'injected failure'); end")
      await expect(store.gc({})).rejects.toThrow(/injected failure/)
      db.run('drop trigger refuse_purge')
      db.close()
      expect((await store.doctor()).findings.map((finding) => finding.kind)).toEqual(['trash-past-grace'])
      await store.untrash(sessionId)
      expect(Buffer.from((await store.restore(sessionId)).bytes).equals(Buffer.from(bytes))).toBe(true)
      expect(JSON.parse(new TextDecoder().decode((await store.latestSnapshot(sessionId)).bytes))).toEqual({n: 1})
    } finally {
      dir.remove()
    }
  })

  it('cleans crash litter: temp files, orphans (quarantined), rows without content; and quarantine past its grace', async () => {
    const dir = tempDir('sess-gc-litter-')
    try {
      const clock = {now: GC_NOW}
      const {openStore} = await import('../../../src/store/open-store.ts')
      await using store = await openStore({home: join(dir.path, 'store'), now: () => clock.now})
      const saved = await store.save({bytes: new TextEncoder().encode('{"a":1}\n'), format: 'raw', name: 'kept'})
      await store.snapshot('kept', 'one')
      await store.snapshot('kept', 'two')
      const blobs = join(store.home, 'blobs', saved.sessionId)
      const snapshotFiles = readdirSync(blobs)
      writeFileSync(join(blobs, '.01JD0000000000000000000000.tmp-0123456789ab'), 'torn')
      writeFileSync(join(blobs, '01JD0000000000000000000001'), 'never committed')
      mkdirSync(join(store.home, 'blobs', '01JD0000000000000000000002'), {mode: 0o700})
      writeFileSync(join(store.home, 'blobs', '01JD0000000000000000000002', '01JD0000000000000000000003'), 'orphan dir')
      const {Database} = await import('bun:sqlite')
      const db = new Database(join(store.home, 'sess.db'))
      const snap = db.query('select blob from snapshots where seq = 1').get() as {blob: string}
      db.close()
      const {unlinkSync} = await import('node:fs')
      unlinkSync(join(blobs, snap.blob))
      expect(snapshotFiles.length).toBe(3)

      const report = await store.gc({})
      expect(report.items.map((i) => [i.action, i.type, i.bytes])).toEqual([
        ['delete', 'temp-file', 4],
        ['quarantine', 'orphan', 10],
        ['quarantine', 'orphan', 15],
        ['unindex', 'missing-content', 0],
      ])
      expect(report.items[3]!.reason).toBe('snapshot 1: its blob file is missing')
      expect((await store.latestSnapshot('kept')).bytes).toEqual(new TextEncoder().encode('two'))
      await expect(store.latestSnapshot('kept', 1)).rejects.toThrow(/no snapshot 1/)
      expect(report.quarantine).toMatch(/quarantine\/\d{13}-[0-9a-f]+$/)
      expect(readdirSync(join(report.quarantine!, 'blobs')).sort()).toEqual(['01JD0000000000000000000002', saved.sessionId])
      expect((await store.gc({})).items).toEqual([])
      clock.now += 7 * DAY + 1
      expect((await store.gc({})).items.map((i) => [i.action, i.type, i.path, i.bytes])).toEqual([['delete', 'quarantine', report.quarantine, 25]])
      expect(existsSync(join(store.home, 'quarantine'))).toBe(true)
      expect(readdirSync(join(store.home, 'quarantine'))).toEqual([])
    } finally {
      dir.remove()
    }
  })

  it('a gc.planned handler may take items out (they are kept and reported) or veto the run', async () => {
    const dir = tempDir('sess-gc-plugins-')
    try {
      const {DEFAULT_PLUGINS, openStore} = await import('../../../src/store/open-store.ts')
      const clock = {now: GC_NOW}
      const keeper = {
        name: 'keeper',
        register(bus: Parameters<(typeof DEFAULT_PLUGINS)[number]['register']>[0]) {
          bus.on('gc.planned', ({items}) => ({items: [...items.filter((i) => i.name !== 'spared'), {...items[0]!, name: 'added', path: '/etc/passwd', action: 'delete' as const}]}))
          bus.on('gc.planned', ({items}) => {
            if (items.some((i) => i.name === 'forbidden')) throw new Error('ignored: a throwing handler is isolated')
          })
        },
      }
      await using store = await openStore({home: join(dir.path, 'store'), now: () => clock.now, onPluginError: () => undefined, plugins: [...DEFAULT_PLUGINS, keeper]})
      for (const name of ['spared', 'gone']) await store.create({name, status: 'completed'})
      clock.now += 40 * DAY
      const report = await store.gc({maxAge: 30 * DAY})
      expect(report.items.map((i) => i.name)).toEqual(['gone'])
      expect(report.skipped).toEqual([{item: expect.objectContaining({name: 'spared'}), reason: 'a gc.planned handler took it out of the plan'}])
      expect(existsSync('/etc/passwd')).toBe(true)
      const vetoer = {
        name: 'vetoer',
        register(bus: Parameters<(typeof DEFAULT_PLUGINS)[number]['register']>[0]) {
          bus.on('gc.planned', (_payload, context) => context.veto('not today'))
        },
      }
      await using vetoed = await openStore({home: join(dir.path, 'store'), now: () => clock.now, plugins: [...DEFAULT_PLUGINS, vetoer]})
      await expect(vetoed.gc({maxAge: 0})).rejects.toBeInstanceOf(VetoError)
      expect((await vetoed.list()).map((s) => s.name)).toEqual(['spared'])
    } finally {
      dir.remove()
    }
  })

  it('never runs two at once on one store', async () => {
    const dir = tempDir('sess-gc-lock-')
    try {
      const {openStore} = await import('../../../src/store/open-store.ts')
      const {takeGcLock} = await import('./gc.ts')
      const {storeLayout} = await import('../../../src/store/home.ts')
      await using store = await openStore({home: join(dir.path, 'store')})
      const held = await takeGcLock(storeLayout(store.home), 0)
      await expect(store.gc({})).rejects.toBeInstanceOf(LockError)
      expect((await store.gc({}, {dryRun: true})).items).toEqual([])
      held.release()
      expect((await store.gc({})).items).toEqual([])
    } finally {
      dir.remove()
    }
  })
})

describe('store.startAutoGc', () => {
  it('runs gc periodically, never two at once, skips while another gc holds the store, and stops on close', async () => {
    const dir = tempDir('sess-autogc-')
    try {
      const {openStore} = await import('../../../src/store/open-store.ts')
      const {takeGcLock} = await import('./gc.ts')
      const {storeLayout} = await import('../../../src/store/home.ts')
      const clock = {now: GC_NOW}
      const store = await openStore({home: join(dir.path, 'store'), now: () => clock.now})
      await store.create({name: 'old', status: 'completed'})
      clock.now += 40 * DAY
      const reports: number[] = []
      const held = await takeGcLock(storeLayout(store.home), 0)
      const auto = store.startAutoGc({interval: 1_000, onReport: (report) => reports.push(report.items.length), policy: {maxAge: 30 * DAY}})
      await Bun.sleep(1_300)
      expect([auto.runs, auto.skipped]).toEqual([0, 1])
      held.release()
      await Bun.sleep(1_100)
      expect(auto.runs).toBe(1)
      expect(reports).toEqual([1])
      expect((await store.list({trashed: true})).map((s) => s.name)).toEqual(['old'])
      await store.close()
      const runs = auto.runs
      await Bun.sleep(1_100)
      expect(auto.runs).toBe(runs)
      expect(() => store.startAutoGc({interval: 1_000})).toThrow(/closed/)
    } finally {
      dir.remove()
    }
  })
})
