import {Database} from 'bun:sqlite'
import {chmodSync, openSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {connectDatabase} from '../../../src/db/connect.ts'
import {MIGRATIONS} from '../../../src/db/migrations/index.ts'
import {openStore} from '../../../src/store/open-store.ts'
import {tempDir} from '../../../test/helpers/cli.ts'
import {DAY, GC_NOW} from '../../../test/helpers/gc-store.ts'

const OWNER_CHILD = fileURLToPath(new URL('../../../test/helpers/owner-child.ts', import.meta.url))
const text = (value: string) => new TextEncoder().encode(value)

describe('store.doctor', () => {
  it('finds nothing in a clean store', async () => {
    const dir = tempDir('sess-doctor-')
    try {
      await using store = await openStore({home: join(dir.path, 'store')})
      await store.save({bytes: text('{"a":1}\n'), format: 'raw', name: 'saved'})
      const chat = await store.create({name: 'chat', status: 'completed'})
      await store.snapshot(chat.id, {n: 1})
      await store.appendOutput(chat.id, {code: 'o', data: 'hi', time: 0})
      expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
    } finally {
      dir.remove()
    }
  })

  it('finds every kind of damage, repairs what is safe with fix, quarantines the rest, and gc does the remainder', async () => {
    const dir = tempDir('sess-doctor-')
    try {
      const clock = {now: GC_NOW}
      const home = join(dir.path, 'store')
      const findings: string[] = []
      const listener = {name: 'listener', register: (bus: {on: (event: 'doctor.finding', handler: (f: {kind: string}) => void) => void}) => bus.on('doctor.finding', (f) => void findings.push(f.kind))}
      const {DEFAULT_PLUGINS} = await import('../../../src/store/open-store.ts')
      let store = await openStore({home, now: () => clock.now, plugins: [...DEFAULT_PLUGINS, listener as never]})
      const saved = await store.save({bytes: text('{"a":1}\n{"b":2}\n'), format: 'raw', name: 'saved'})
      const snapped = await store.create({name: 'snapped', status: 'completed'})
      await store.snapshot(snapped.id, 'first')
      await store.snapshot(snapped.id, 'second')
      const loud = await store.create({name: 'loud', status: 'completed'})
      await store.appendOutput(loud.id, {code: 'o', data: 'x'.repeat(1000), time: 0})
      const counted = await store.create({name: 'counted', status: 'completed'})
      await store.append(counted.id, {label: 'one', type: 'marker'})
      const gone = await store.create({name: 'gone', status: 'completed'})
      await store.remove(gone.id)
      const stale = await store.create({name: 'stale', status: 'completed'})
      const holder = Bun.spawn(['sleep', '60'])
      ;(await store.lock(stale.id, {pid: holder.pid, ttl: 3_600_000})).detach()
      holder.kill('SIGKILL')
      await holder.exited
      const child = Bun.spawnSync([process.execPath, OWNER_CHILD, home, String(clock.now), 'crashed', 'agent', 'active'])
      expect(child.exitCode).toBe(0)
      await store.close()

      // The damage.
      const blobs = join(home, 'blobs')
      const savedDir = join(blobs, saved.sessionId)
      const [original] = readdirSync(savedDir)
      const damaged = join(savedDir, original!)
      chmodSync(damaged, 0o644)
      writeFileSync(damaged, readFileSync(damaged).toString().replace('a', 'z'))
      chmodSync(damaged, 0o644)
      const snapDir = join(blobs, snapped.id)
      const db = new Database(join(home, 'sess.db'))
      const first = db.query('select blob from snapshots where seq = 1').get() as {blob: string}
      db.run('update sessions set record_count = 5 where id = ?', [counted.id])
      db.close()
      unlinkSync(join(snapDir, first.blob))
      writeFileSync(join(snapDir, '.01JD0000000000000000000000.tmp-00000000000a'), 'torn', {mode: 0o600})
      writeFileSync(join(snapDir, '01JD0000000000000000000001'), 'orphan', {mode: 0o600})
      symlinkSync('/etc/hostname', join(blobs, 'link'))
      clock.now += 8 * DAY

      store = await openStore({home, now: () => clock.now, outputLimit: 100, plugins: [...DEFAULT_PLUGINS, listener as never]})
      const report = await store.doctor()
      const kinds = report.findings.map((f) => f.kind).sort()
      expect(kinds).toEqual([
        'checksum-mismatch',
        'dead-owner',
        'file-mode',
        'index-mismatch',
        'missing-content',
        'orphan-content',
        'output-over-bound',
        'stale-lock',
        'symlink',
        'temp-file',
        'trash-past-grace',
      ])
      expect(findings.sort()).toEqual(kinds)
      expect(report.clean).toBe(false)
      expect(report.findings.every((f) => !f.fixed)).toBe(true)
      expect(report.findings.find((f) => f.kind === 'dead-owner')!.message).toMatch(/^Session crashed is active, but its owner \(pid \d+\) is gone\.$/)
      expect(report.findings.find((f) => f.kind === 'checksum-mismatch')).toMatchObject({path: damaged, sessionId: saved.sessionId, severity: 'error'})

      const fixed = await store.doctor({fix: true})
      expect(fixed.findings.filter((f) => !f.fixed).map((f) => f.kind)).toEqual(['trash-past-grace'])
      expect((await store.get('crashed')).status).toBe('terminated')
      expect((await store.outputStats('loud')).bytes).toBeLessThanOrEqual(100)
      expect((await store.get('counted')).recordCount).toBe(1)
      expect((await store.versions('saved'))).toEqual([])
      expect((await store.latestSnapshot('snapped')).bytes).toEqual(text('second'))
      expect(readdirSync(join(fixed.quarantine!, 'blobs')).sort()).toEqual([saved.sessionId, snapped.id, 'link'].sort())
      expect((await store.doctor()).findings.map((f) => f.kind)).toEqual(['trash-past-grace'])
      await store.gc({})
      expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
      await store.close()
      void openSync
    } finally {
      dir.remove()
    }
  })
})

describe('store.doctor: the schema', () => {
  it('reports a schema behind (and only that, as the other checks need it); --fix migrates', async () => {
    const dir = tempDir('sess-doctor-schema-')
    try {
      const home = join(dir.path, 'store')
      await (await openStore({home})).close()
      // The latest migration undone, as in a store a version of sess before it made.
      const latest = Object.keys(MIGRATIONS).at(-1)!
      const database = await connectDatabase(join(home, 'sess.db'))
      await MIGRATIONS[latest]!.down!(database.db)
      await sql`delete from kysely_migration where name = ${latest}`.execute(database.db)
      await database.destroy()
      await using store = await openStore({autoMigrate: false, home})
      const report = await store.doctor()
      expect(report.findings.map((f) => [f.kind, f.fixed])).toEqual([['schema-behind', false]])
      expect(report.findings[0]!.message).toBe(`1 schema migration(s) pending: ${latest}. The other checks need the current schema: run \`sess migrate\` (or --fix), then doctor again.`)
      expect((await store.doctor({fix: true})).findings.map((f) => [f.kind, f.fixed])).toEqual([['schema-behind', true]])
      expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
    } finally {
      dir.remove()
    }
  })
})

describe('store.stats', () => {
  it('counts sessions by status and kind, records, bytes, the trash and locks', async () => {
    const dir = tempDir('sess-stats-')
    try {
      await using store = await openStore({home: join(dir.path, 'store')})
      const bytes = text('{"a":1}\n{"b":2}\n')
      await store.save({bytes, format: 'raw', name: 'saved'})
      const chat = await store.create({kind: 'chat', name: 'chat'})
      await store.append(chat.id, {label: 'one', type: 'marker'})
      await store.appendOutput(chat.id, {code: 'o', data: 'hello', time: 0})
      await store.snapshot(chat.id, 'abc')
      await store.pin(chat.id)
      const old = await store.create({kind: 'agent', name: 'old', status: 'paused'})
      await store.remove(old.id)
      await using _lease = await store.lock(chat.id)
      const stats = await store.stats()
      expect(stats).toMatchObject({
        locks: {held: 1, stale: 0},
        outputBytes: 5,
        quarantine: {batches: 0, bytes: 0},
        records: 3,
        sessions: {byKind: {chat: 1, raw: 1}, byStatus: {active: 1, completed: 1}, live: 2, pinned: 1},
        trash: {bytes: 0, sessions: 1},
      })
      const marker = (await store.get('chat')).bytes
      expect(stats.contentBytes).toBe(bytes.length + marker + 3)
      expect(stats.disk.blobs).toBe(bytes.length + 3)
      expect(stats.disk.database).toBeGreaterThan(0)
    } finally {
      dir.remove()
    }
  })
})
