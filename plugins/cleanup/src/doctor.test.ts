import {Database} from 'bun:sqlite'
import {chmodSync, closeSync, existsSync, lstatSync, openSync, symlinkSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {sql} from 'kysely'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import type {DialectName} from '../../../src/db/dialect.ts'
import {connectDatabase} from '../../../src/db/connect.ts'
import {MIGRATIONS} from '../../../src/db/migrations/index.ts'
import {DEFAULT_PLUGINS, openStore} from '../../../src/store/open-store.ts'
import {DIALECTS, runSql, type StoreTarget, storeTarget} from '../../../test/helpers/dialects.ts'
import {DAY, GC_NOW} from '../../../test/helpers/gc-store.ts'
import {storedContent} from '../../../test/helpers/store-content.ts'

const OWNER_CHILD = fileURLToPath(new URL('../../../test/helpers/owner-child.ts', import.meta.url))
const text = (value: string) => new TextEncoder().encode(value)

/**
 * Damage to the metadata database that its engine's integrity check finds, and the message it
 * gives. SQLite: the root page of an index that doctor never reads, its page type zeroed in the
 * file (`quick_check` reads every b-tree). PostgreSQL: a constraint added `NOT VALID` and a primary
 * key dropped (the catalog checks).
 */
const DATABASE_DAMAGE: Record<DialectName, {damage: (target: StoreTarget) => Promise<void>; message: RegExp}> = {
  postgres: {
    damage: async (target) => {
      await runSql(target, 'alter table sessions add constraint sessions_bytes_positive check (bytes >= 0) not valid')
      await runSql(target, 'alter table session_tags drop constraint session_tags_pk')
    },
    message: /^The database fails its integrity check: constraint sessions_bytes_positive of table sessions is not validated; table session_tags has no primary key\. The other checks need a sound database\.$/,
  },
  sqlite: {
    damage: async (target) => {
      const path = join(target.home, 'sess.db')
      const db = new Database(path)
      const {rootpage} = db.query("select rootpage from sqlite_master where name = 'sessions_parent'").get() as {rootpage: number}
      const {page_size} = db.query('pragma page_size').get() as {page_size: number}
      db.close(false)
      const fd = openSync(path, 'r+')
      writeSync(fd, Buffer.from([0]), 0, 1, (rootpage - 1) * page_size)
      closeSync(fd)
    },
    message: /^The database fails its integrity check: .*btreeInitPage\(\) returns error code 11/s,
  },
}

describe.each(DIALECTS)('on %s', (dialect) => {
  let target: StoreTarget
  beforeEach(async () => {
    target = await storeTarget(dialect, 'sess-doctor-')
  })
  afterEach(() => target.remove())

  describe('store.doctor', () => {
    it('finds nothing in a clean store', async () => {
      await using store = await openStore(target.options)
      await store.save({bytes: text('{"a":1}\n'), format: 'raw', name: 'saved'})
      const chat = await store.create({name: 'chat', status: 'completed'})
      await store.snapshot(chat.id, {n: 1})
      await store.appendOutput(chat.id, {code: 'o', data: 'hi', time: 0})
      expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
    })

    it('finds every kind of damage, repairs what is safe with fix, quarantines the rest, and gc does the remainder', async () => {
      const clock = {now: GC_NOW}
      const {home} = target
      const findings: string[] = []
      const listener = {name: 'listener', register: (bus: {on: (event: 'doctor.finding', handler: (f: {kind: string}) => void) => void}) => bus.on('doctor.finding', (f) => void findings.push(f.kind))}
      let store = await openStore({...target.options, now: () => clock.now, plugins: [...DEFAULT_PLUGINS, listener as never]})
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
      const child = Bun.spawnSync([process.execPath, OWNER_CHILD, home, String(clock.now), 'crashed', 'agent', 'active'], {env: {...process.env, ...target.env}})
      expect(child.exitCode).toBe(0)
      await store.setConfig('gc.maxAge', '365d')
      await store.close()

      // The damage: content behind the store's back (a changed byte, a missing blob, an orphan), the index, the home's files.
      const content = storedContent(target)
      const [original, bytes] = [...(await content.blobs(saved.sessionId))][0]!
      await content.write(saved.sessionId, original, text(new TextDecoder().decode(bytes).replace('a', 'z')))
      const [first] = await runSql<{blob: string}>(target, 'select blob from snapshots where seq = 1')
      await content.remove(snapped.id, first!.blob)
      await content.addOrphan(snapped.id, '01JD0000000000000000000001', text('orphan'))
      await runSql(target, 'update sessions set record_count = 5 where id = ?', counted.id)
      chmodSync(join(home, 'config.json'), 0o644)
      writeFileSync(join(home, '.config.json.tmp-00000000000a'), 'torn', {mode: 0o600})
      symlinkSync('/etc/hostname', join(home, 'link'))
      clock.now += 8 * DAY

      store = await openStore({...target.options, now: () => clock.now, outputLimit: 100, plugins: [...DEFAULT_PLUGINS, listener as never]})
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
      expect(report.findings.find((f) => f.kind === 'checksum-mismatch')).toMatchObject({path: content.locate(saved.sessionId, original), sessionId: saved.sessionId, severity: 'error'})

      const fixed = await store.doctor({fix: true})
      expect(fixed.findings.filter((f) => !f.fixed).map((f) => f.kind)).toEqual(['trash-past-grace'])
      expect((await store.get('crashed')).status).toBe('terminated')
      expect((await store.outputStats('loud')).bytes).toBeLessThanOrEqual(100)
      expect((await store.get('counted')).recordCount).toBe(1)
      expect(await store.versions('saved')).toEqual([])
      expect((await store.latestSnapshot('snapped')).bytes).toEqual(text('second'))
      expect(await content.quarantined()).toEqual([`${saved.sessionId}/${original}`, `${snapped.id}/01JD0000000000000000000001`].sort())
      expect(existsSync(join(home, 'link'))).toBe(false)
      expect(lstatSync(join(fixed.quarantine!, 'link')).isSymbolicLink()).toBe(true)
      expect((await store.doctor()).findings.map((f) => f.kind)).toEqual(['trash-past-grace'])
      await store.gc({})
      expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
      await store.close()
    })

    it('reports a database that fails its integrity check, naming where it is', async () => {
      await (await openStore(target.options)).close()
      const {damage, message} = DATABASE_DAMAGE[dialect]
      await damage(target)
      await using store = await openStore(target.options)
      const report = await store.doctor()
      expect(report.findings.map((f) => [f.kind, f.severity])).toEqual([['database-integrity', 'error']])
      const [finding] = report.findings
      expect(finding!.message).toMatch(message)
      if (target.databaseUrl === undefined) expect(finding!.path).toBe(join(target.home, 'sess.db'))
      else {
        const url = new URL(target.databaseUrl)
        expect(finding!.path).toBe(`postgres://${url.username}@${url.hostname}:${url.port}${url.pathname}`)
      }
      // Not something doctor repairs.
      expect((await store.doctor({fix: true})).findings.map((f) => [f.kind, f.fixed])).toEqual([['database-integrity', false]])
    })
  })

  describe('store.doctor: the schema', () => {
    it('reports a schema behind (and only that, as the other checks need it); --fix migrates', async () => {
      await (await openStore(target.options)).close()
      // The latest migration undone, as in a store a version of sess before it made.
      const latest = Object.keys(MIGRATIONS).at(-1)!
      const database = await connectDatabase(target.databaseUrl ?? join(target.home, 'sess.db'))
      await MIGRATIONS[latest]!.down!(database.db)
      await sql`delete from kysely_migration where name = ${latest}`.execute(database.db)
      await database.destroy()
      await using store = await openStore({...target.options, autoMigrate: false})
      const report = await store.doctor()
      expect(report.findings.map((f) => [f.kind, f.fixed])).toEqual([['schema-behind', false]])
      expect(report.findings[0]!.message).toBe(`1 schema migration(s) pending: ${latest}. The other checks need the current schema: run \`sess migrate\` (or --fix), then doctor again.`)
      expect((await store.doctor({fix: true})).findings.map((f) => [f.kind, f.fixed])).toEqual([['schema-behind', true]])
      expect(await store.doctor()).toEqual({clean: true, findings: [], quarantine: null})
    })
  })

  describe('store.stats', () => {
    it('counts sessions by status and kind, records, bytes, the trash and locks', async () => {
      await using store = await openStore(target.options)
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
    })
  })
})
