import {Database} from 'bun:sqlite'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {LockError, VetoError} from '../../../src/errors/index.ts'
import {DEFAULT_PLUGINS, openStore} from '../../../src/store/open-store.ts'
import type {Store} from '../../../src/store/store.ts'
import {tempDir} from '../../../test/helpers/cli.ts'
import {DIALECTS, lockSpaceOf, runSql, type StoreTarget, storeTarget} from '../../../test/helpers/dialects.ts'
import {DAY, GC_NOW, generateGcStore} from '../../../test/helpers/gc-store.ts'
import {storedContent} from '../../../test/helpers/store-content.ts'
import {takeGcLock} from './gc.ts'
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

/** A host that is not this one, and a pid that runs nowhere here. */
const ELSEWHERE = {host: 'build-7.ci.example', pid: 4_000_000}

describe.each(DIALECTS)('on %s', (dialect) => {
  describe('store.gc: the plan is exactly what the policy says', () => {
    let target: StoreTarget
    let store: Store
    beforeAll(async () => {
      target = await storeTarget(dialect, 'sess-gc-')
      store = (await generateGcStore(target.home, GC_NOW, target.databaseUrl)).store
    })
    afterAll(async () => {
      await store.close()
      await target.remove()
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

  describe('store.gc: trash, litter, other hosts, plugins', () => {
    let target: StoreTarget
    beforeEach(async () => {
      target = await storeTarget(dialect, 'sess-gc-')
    })
    afterEach(() => target.remove())

    it('empties the trash after its grace period, and a trashed session comes back intact before', async () => {
      const clock = {now: GC_NOW}
      await using store = await openStore({...target.options, now: () => clock.now})
      const content = storedContent(target)
      const bytes = new TextEncoder().encode('{"type":"user","message":{"role":"user","content":"hi"}}\n')
      await store.save({bytes, format: 'raw', name: 'old'})
      await store.snapshot('old', {n: 1})
      await store.remove('old')
      clock.now += 7 * DAY
      expect((await store.gc({})).items).toEqual([])
      await store.untrash('old')
      expect(Buffer.from((await store.restore('old')).bytes).equals(Buffer.from(bytes))).toBe(true)
      const id = (await store.remove('old')).id
      expect((await content.blobs(id)).size).toBe(2)
      clock.now += 7 * DAY + 1
      const report = await store.gc({})
      expect(report.items).toEqual([expect.objectContaining({action: 'purge', name: 'old', reason: expect.stringContaining('over the grace period of 7d'), sessionId: id, type: 'trashed-session'})])
      expect(report.bytesFreed).toBe(report.items[0]!.bytes)
      expect((await content.blobs(id)).size).toBe(0)
      await expect(store.get(id, {includeTrashed: true})).rejects.toThrow(/No session/)
    })

    it('cleans crash litter: temp files, orphans (quarantined), rows without content; and quarantine past its grace', async () => {
      const clock = {now: GC_NOW}
      await using store = await openStore({...target.options, now: () => clock.now})
      const content = storedContent(target)
      const text = (value: string) => new TextEncoder().encode(value)
      const saved = await store.save({bytes: text('{"a":1}\n'), format: 'raw', name: 'kept'})
      await store.snapshot('kept', 'one')
      await store.snapshot('kept', 'two')
      expect((await content.blobs(saved.sessionId)).size).toBe(3)
      writeFileSync(join(store.home, '.config.json.tmp-0123456789ab'), 'torn', {mode: 0o600})
      await content.addOrphan(saved.sessionId, '01JD0000000000000000000001', text('never committed'))
      await content.addOrphan('01JD0000000000000000000002', '01JD0000000000000000000003', text('orphan dir'))
      const [snap] = await runSql<{blob: string}>(target, 'select blob from snapshots where seq = 1')
      await content.remove(saved.sessionId, snap!.blob)

      const report = await store.gc({})
      expect(report.items.map((i) => [i.action, i.type, i.bytes])).toEqual([
        ['delete', 'temp-file', 4],
        ['quarantine', 'orphan', 10],
        ['quarantine', 'orphan', 15],
        ['unindex', 'missing-content', 0],
      ])
      expect(report.items[3]!.reason).toBe('snapshot 1: its blob is missing')
      expect((await store.latestSnapshot('kept')).bytes).toEqual(text('two'))
      await expect(store.latestSnapshot('kept', 1)).rejects.toThrow(/no snapshot 1/)
      expect(report.quarantine).not.toBeNull()
      expect(await content.quarantined()).toEqual(['01JD0000000000000000000002/01JD0000000000000000000003', `${saved.sessionId}/01JD0000000000000000000001`])
      expect(await content.batches()).toBe(1)
      expect((await store.gc({})).items).toEqual([])
      clock.now += 7 * DAY + 1
      expect((await store.gc({})).items.map((i) => [i.action, i.type, i.path, i.bytes])).toEqual([['delete', 'quarantine', report.quarantine, 25]])
      expect(await content.batches()).toBe(0)
      expect(await content.quarantined()).toEqual([])
      expect((await store.restore('kept')).bytes).toEqual(text('{"a":1}\n'))
    })

    it('never collects a session another host holds: its lock lasts until its lease expires, its owner is never judged dead', async () => {
      const clock = {now: GC_NOW}
      await using store = await openStore({...target.options, now: () => clock.now})
      const locked = await store.create({name: 'remote-locked', status: 'completed'})
      const owned = await store.create({name: 'remote-owned'})
      await runSql(
        target,
        'insert into locks (session_id, token, lease_id, holder_host, holder_pid, holder_start_time, holder_boot_id, acquired_at, renewed_at, expires_at, ttl_ms) values (?, 7, ?, ?, ?, null, null, ?, ?, ?, ?)',
        locked.id,
        '0123456789abcdef0123456789abcdef',
        ELSEWHERE.host,
        ELSEWHERE.pid,
        clock.now,
        clock.now,
        clock.now + 60 * DAY,
        60 * DAY,
      )
      await runSql(target, 'update sessions set owner_host = ?, owner_pid = ?, owner_start_time = null where id = ?', ELSEWHERE.host, ELSEWHERE.pid, owned.id)
      clock.now += 40 * DAY
      const policy = {keepAtLeast: 0, maxAge: 30 * DAY}
      expect(await trashed(store, policy)).toEqual({
        kept: [
          ['remote-locked', `locked by pid ${ELSEWHERE.pid} on host ${ELSEWHERE.host}`],
          ['remote-owned', `active, its owner (pid ${ELSEWHERE.pid} on ${ELSEWHERE.host}) may be alive`],
        ],
        trash: [],
      })
      expect((await store.doctor()).findings).toEqual([])
      // Once its lease has expired, the lock is stale: released, and the session collected. The owner stays "maybe alive".
      clock.now += 21 * DAY
      const report = await store.gc(policy)
      expect(report.items.map((i) => [i.action, i.name, i.reason])).toEqual([
        ['release', 'remote-locked', expect.stringMatching(/^stale lock \(fencing token 7\): its lease expired 1d ago$/)],
        ['trash', 'remote-locked', expect.stringContaining('maxAge')],
      ])
      expect(report.kept.map((k) => k.name)).toEqual(['remote-owned'])
    })

    it('a gc.planned handler may take items out (they are kept and reported) or veto the run', async () => {
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
      await using store = await openStore({...target.options, now: () => clock.now, onPluginError: () => undefined, plugins: [...DEFAULT_PLUGINS, keeper]})
      for (const name of ['spared', 'gone']) await store.create({name, status: 'completed'})
      clock.now += 40 * DAY
      const report = await store.gc({maxAge: 30 * DAY})
      expect(report.items.map((i) => i.name)).toEqual(['gone'])
      expect(report.skipped).toEqual([{item: expect.objectContaining({name: 'spared'}), reason: 'a gc.planned handler took it out of the plan'}])
      const {existsSync} = await import('node:fs')
      expect(existsSync('/etc/passwd')).toBe(true)
      const vetoer = {
        name: 'vetoer',
        register(bus: Parameters<(typeof DEFAULT_PLUGINS)[number]['register']>[0]) {
          bus.on('gc.planned', (_payload, context) => context.veto('not today'))
        },
      }
      await using vetoed = await openStore({...target.options, now: () => clock.now, plugins: [...DEFAULT_PLUGINS, vetoer]})
      await expect(vetoed.gc({maxAge: 0})).rejects.toBeInstanceOf(VetoError)
      expect((await vetoed.list()).map((s) => s.name)).toEqual(['spared'])
    })

    it('never runs two at once on one store', async () => {
      await using store = await openStore(target.options)
      const locks = lockSpaceOf(target)
      const held = await takeGcLock(locks, 0)
      await expect(store.gc({})).rejects.toBeInstanceOf(LockError)
      expect((await store.gc({}, {dryRun: true})).items).toEqual([])
      held.release()
      await locks.close()
      expect((await store.gc({})).items).toEqual([])
    })

    it('startAutoGc runs gc periodically, never two at once, skips while another gc holds the store, and stops on close', async () => {
      const clock = {now: GC_NOW}
      const store = await openStore({...target.options, now: () => clock.now})
      await store.create({name: 'old', status: 'completed'})
      clock.now += 40 * DAY
      const reports: number[] = []
      const locks = lockSpaceOf(target)
      const held = await takeGcLock(locks, 0)
      const auto = store.startAutoGc({interval: 1_000, onReport: (report) => reports.push(report.items.length), policy: {maxAge: 30 * DAY}})
      await Bun.sleep(1_300)
      expect([auto.runs, auto.skipped]).toEqual([0, 1])
      held.release()
      await locks.close()
      await Bun.sleep(1_100)
      expect(auto.runs).toBe(1)
      expect(reports).toEqual([1])
      expect((await store.list({trashed: true})).map((s) => s.name)).toEqual(['old'])
      await store.close()
      const runs = auto.runs
      await Bun.sleep(1_100)
      expect(auto.runs).toBe(runs)
      expect(() => store.startAutoGc({interval: 1_000})).toThrow(/closed/)
    })
  })
})

// The fault is injected with a trigger in sess.db.
describe('store.gc on SQLite', () => {
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
})
