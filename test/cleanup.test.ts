/**
 * The cleanup plugin through the CLI: `sess gc`, `sess doctor`, `sess stats`, `sess config`,
 * `sess pin`, on generated stores and on crash litter made for real (children killed with SIGKILL
 * mid-save and mid-gc).
 */
import {Database} from 'bun:sqlite'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openStore, type Store} from '../src/index.ts'
import {REPO, sess, sessJson, tempDir, useTempDir} from './helpers/cli.ts'
import {CRASH_SESSION, crashOriginal, crashRecord, sha256Hex} from './helpers/crash-child.ts'
import {TEMP_FILE} from '../plugins/cleanup/src/content/home-scan.ts'
import {generateGcStore} from './helpers/gc-store.ts'
import {fingerprint} from './helpers/store-files.ts'

const CRASH_CHILD = fileURLToPath(new URL('./helpers/crash-child.ts', import.meta.url))
const LOCK_CHILD = fileURLToPath(new URL('./helpers/lock-child.ts', import.meta.url))

interface GcJson {
  dryRun: boolean
  items: {action: string; type: string; name: string | null; path: string | null; reason: string; bytes: number; sessionId: string | null}[]
  kept: {name: string; keptBy: string}[]
  bytesFreed: number
  bytesTrashed: number
}

interface DoctorJson {
  clean: boolean
  findings: {kind: string; severity: string; sessionId: string | null; path: string | null; message: string; fix: string | null; fixed: boolean}[]
}

describe('sess gc and sess doctor on a generated store', () => {
  const dir = useTempDir('sess-cleanup-cli-')
  const home = join(dir.path, 'store')
  let store: Store
  beforeAll(async () => {
    store = (await generateGcStore(home, Date.now())).store
    // Content on disk too: an imported original and a snapshot.
    await store.save({bytes: crashOriginal(1, 1), format: 'raw', name: 'imported'})
    await store.snapshot('big', {state: 'snapshotted'})
  })
  afterAll(async () => {
    await store.close()
  })

  it('--dry-run and doctor change nothing: every file of the store is the same before and after', () => {
    const before = fingerprint(home)
    const plan = sessJson<GcJson>(home, ['gc', '--dry-run', '--max-age', '1d', '--max-sessions', '2'])
    expect(plan.code).toBe(0)
    expect(plan.json.dryRun).toBe(true)
    expect(plan.json.items.length).toBeGreaterThan(5)
    expect(sess(home, ['gc', '--dry-run']).code).toBe(0)
    expect(sessJson(home, ['doctor']).code).toBe(1) // the stale lock and the dead owner
    expect(sess(home, ['stats']).code).toBe(0)
    expect(fingerprint(home)).toEqual(before)
  })

  it('--json lists every item with its reason, and the sessions kept though a limit names them', () => {
    const {json} = sessJson<GcJson>(home, ['gc', '--dry-run', '--max-age', '30d'])
    expect(json.items.map((item) => [item.action, item.name])).toEqual([
      ['release', 'stale-locked'],
      ['trash', 'keep-tag'],
      ['trash', 'old-chat'],
      ['trash', 'dead-owner'],
      ['trash', 'stale-locked'],
    ])
    for (const item of json.items) expect(item.reason).not.toBe('')
    expect(json.kept.map((kept) => kept.name)).toEqual(['pinned', 'locked', 'live-owner'])
    const human = sess(home, ['gc', '--dry-run', '--max-age', '30d'])
    expect(human.stdout).toMatch(/trash\s+old-chat\s+.*last activity 60d ago, older than 30d \(maxAge\)/)
    expect(human.stdout).toMatch(/Would free 0 B; would move 4 session\(s\) \(.*\) to the trash\. \(dry run: nothing changed\)/)
    expect(sess(home, ['gc', '--max-age', 'soon']).code).toBe(2)
  })

  it('reads the policy from sess config; flags win; pin keeps a session', () => {
    expect(sess(home, ['config', 'set', 'gc.maxSessions', '3']).code).toBe(0)
    expect(sess(home, ['config', 'set', 'gc.kinds.terminal.maxAge', '10d']).stdout).toBe('gc.kinds.terminal.maxAge 10d\n')
    expect(sessJson(home, ['config', 'get']).json).toEqual({'gc.kinds.terminal.maxAge': '10d', 'gc.maxSessions': '3'})
    expect(sess(home, ['config', 'get', 'gc.maxSessions']).stdout).toBe('3\n')
    expect(sess(home, ['config', 'get', 'gc.maxAge']).code).toBe(4)
    expect(sess(home, ['config', 'set', 'gc.maxAge', 'soon']).code).toBe(2)
    expect(sess(home, ['config', 'set', 'gc.maxAge']).code).toBe(2)
    const trash = (args: string[]) => sessJson<GcJson>(home, ['gc', '--dry-run', ...args]).json.items.filter((i) => i.action === 'trash').map((i) => i.name)
    // The newest three: big (snapshotted just now), imported (saved just now), new-chat.
    expect(trash([])).toEqual(['keep-tag', 'old-chat', 'dead-owner', 'stale-locked', 'mid-agent', 'term-old', 'term-new'])
    expect(trash(['--max-sessions', '100'])).toEqual(['term-old'])
    expect(sessJson(home, ['pin', 'term-old']).json).toEqual([{id: expect.any(String), name: 'term-old', pinned: true}])
    expect(trash(['--max-sessions', '100'])).toEqual([])
    expect(sess(home, ['pin', 'term-old', '--off']).stdout).toBe('Unpinned term-old.\n')
    expect(sess(home, ['config', 'set', 'gc.maxSessions', '--unset']).code).toBe(0)
    expect(sess(home, ['config', 'set', 'gc.kinds.terminal.maxAge', '--unset']).code).toBe(0)
    expect(sessJson(home, ['config', 'get']).json).toEqual({})
  })

  it('stats counts the sessions by status and kind, the locks and the trash', () => {
    const {code, json} = sessJson<{sessions: {live: number; byKind: Record<string, number>; byStatus: Record<string, number>; pinned: number}; locks: {held: number; stale: number}; trash: {sessions: number}}>(home, ['stats'])
    expect(code).toBe(0)
    expect(json.sessions).toMatchObject({byKind: {agent: 3, chat: 7, raw: 1, terminal: 2}, live: 13, pinned: 1})
    expect(json.sessions.byStatus).toEqual({active: 1, completed: 8, paused: 1, processing: 1, terminated: 1, waiting_for_input: 1})
    expect(json.locks).toEqual({held: 2, stale: 1})
    expect(json.trash.sessions).toBe(0)
  })
})

describe('the trash through the CLI', () => {
  it('sess rm then sess restore --from-trash gives back the same bytes; gc purges it after the grace period', () => {
    const dir = tempDir('sess-cleanup-trash-')
    try {
      const home = join(dir.path, 'store')
      const file = join(REPO, 'test', 'fixtures', 'sessions', 'hello-claude.jsonl')
      expect(sess(home, ['save', file]).code).toBe(0)
      expect(sess(home, ['rm', 'hello-claude']).code).toBe(0)
      expect(sessJson<GcJson>(home, ['gc']).json.items).toEqual([])
      expect(sess(home, ['restore', '--from-trash', 'hello-claude']).code).toBe(0)
      expect(Buffer.from(sess(home, ['restore', 'hello-claude']).bytes).equals(readFileSync(file))).toBe(true)
      expect(sess(home, ['rm', 'hello-claude']).code).toBe(0)
      const purged = sessJson<GcJson>(home, ['gc', '--trash-grace', '0'])
      expect(purged.json.items).toEqual([expect.objectContaining({action: 'purge', name: 'hello-claude', type: 'trashed-session'})])
      expect(purged.json.bytesFreed).toBe(readFileSync(file).length)
      expect(sess(home, ['restore', '--from-trash', 'hello-claude']).code).toBe(4)
      expect(readdirSync(join(home, 'blobs'))).toEqual([])
      expect(sess(home, ['doctor']).code).toBe(0)
    } finally {
      dir.remove()
    }
  })
})

/** What a crash child reported as committed. */
interface Reported {
  records: number
  saved: Map<string, {sha256: string; name: string}>
}

/** Runs crash children on `home`, each SIGKILLed `delay()` ms after it said `ready`, until `enough()` or `max` kills. */
async function killWriters(home: string, delay: () => number, max: number, enough: () => boolean, mode: 'mixed' | 'append' = 'mixed'): Promise<Reported> {
  const reported: Reported = {records: 0, saved: new Map()}
  for (let run = 1; run <= max; run++) {
    const child = Bun.spawn([process.execPath, CRASH_CHILD, home, mode, String(run)], {stderr: 'pipe', stdout: 'pipe'})
    let out = ''
    const reading = (async () => {
      for await (const chunk of child.stdout) out += new TextDecoder().decode(chunk)
    })()
    const started = Date.now()
    while (!/^ready \d+\n/m.test(out) && Date.now() - started < 20_000) await Bun.sleep(5)
    await Bun.sleep(delay())
    child.kill('SIGKILL')
    await child.exited
    await reading
    const lines = out.split('\n').slice(0, -1)
    for (const line of lines) {
      const [word, a = '', b = '', c = ''] = line.split(' ')
      if (word === 'ready' || word === 'ok') reported.records = Math.max(reported.records, Number(a))
      if (word === 'saved') reported.saved.set(a, {name: c, sha256: b})
    }
    if (run >= 3 && enough()) break
  }
  return reported
}

/** Temp files and content no row names, found on disk and in the database directly (not through sess). */
function litterOnDisk(home: string): {temps: string[]; orphans: string[]} {
  const db = new Database(join(home, 'sess.db'), {readonly: true})
  try {
    const sessions = new Set((db.query('select id from sessions').all() as {id: string}[]).map((row) => row.id))
    const named = new Set((db.query('select session_id || \'/\' || blob as key from versions union all select session_id || \'/\' || blob from snapshots').all() as {key: string}[]).map((row) => row.key))
    const temps: string[] = []
    const orphans: string[] = []
    const blobs = join(home, 'blobs')
    for (const id of readdirSync(blobs)) {
      if (!sessions.has(id)) orphans.push(join(blobs, id))
      for (const name of readdirSync(join(blobs, id))) {
        if (TEMP_FILE.test(name)) temps.push(join(blobs, id, name))
        else if (sessions.has(id) && !named.has(`${id}/${name}`)) orphans.push(join(blobs, id, name))
      }
    }
    for (const name of readdirSync(home)) if (TEMP_FILE.test(name)) temps.push(join(home, name))
    return {orphans, temps}
  } finally {
    db.close()
  }
}

/** Checks that everything reported committed is there: the transcript's records, and every saved original, byte for byte. */
async function assertNothingLost(home: string, reported: Reported): Promise<void> {
  await using store = await openStore({home})
  const session = await store.get(CRASH_SESSION)
  expect(session.recordCount).toBeGreaterThanOrEqual(reported.records)
  let seq = 0
  for await (const record of store.records(session.id)) {
    seq += 1
    expect(record.seq).toBe(seq)
    expect(record.record).toEqual(crashRecord(seq))
  }
  expect(seq).toBe(session.recordCount)
  for (const [id, saved] of reported.saved) {
    const restored = await store.restore(id)
    expect(sha256Hex(restored.bytes)).toBe(saved.sha256)
  }
}

describe('crash litter made for real', () => {
  it('after SIGKILLs mid-save and of a lock holder, doctor finds every piece and exits 1; --fix; the next doctor exits 0; nothing committed is lost', async () => {
    const dir = tempDir('sess-cleanup-crash-')
    try {
      const home = join(dir.path, 'store')
      const reported = await killWriters(home, () => 5 + Math.floor(Math.random() * 150), 40, () => {
        const litter = litterOnDisk(home)
        return litter.orphans.length + litter.temps.length > 0
      })
      const holder = Bun.spawn([process.execPath, LOCK_CHILD, 'hold', home, CRASH_SESSION, '600000'], {stdin: 'pipe', stdout: 'pipe'})
      const reader = holder.stdout.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^held \d+/)
      holder.kill('SIGKILL')
      await holder.exited

      const litter = litterOnDisk(home)
      expect(litter.orphans.length + litter.temps.length).toBeGreaterThan(0)
      const found = sessJson<DoctorJson>(home, ['doctor'])
      expect(found.code).toBe(1)
      const at = (kind: string) => found.json.findings.filter((f) => f.kind === kind).map((f) => f.path).sort()
      expect(at('temp-file')).toEqual(litter.temps.sort())
      expect(at('orphan-content')).toEqual(litter.orphans.sort())
      expect(found.json.findings.filter((f) => f.kind === 'stale-lock').length).toBe(1)
      expect(found.json.findings.find((f) => f.kind === 'dead-owner')?.message).toMatch(/^Session crash-transcript is active, but its owner \(pid \d+\) is gone\.$/)
      const unexpected = found.json.findings.filter((f) => !['temp-file', 'orphan-content', 'stale-lock', 'dead-owner'].includes(f.kind))
      expect(unexpected).toEqual([])

      const fixed = sessJson<DoctorJson>(home, ['doctor', '--fix'])
      expect(fixed.json.findings.filter((f) => !f.fixed)).toEqual([])
      expect(fixed.code).toBe(0)
      expect(sess(home, ['doctor']).code).toBe(0)
      expect(litterOnDisk(home)).toEqual({orphans: [], temps: []})
      await assertNothingLost(home, reported)
    } finally {
      dir.remove()
    }
  }, 120_000)

  it('gc killed at random points leaves the store consistent, and the next gc finishes the job', async () => {
    const dir = tempDir('sess-cleanup-gc-kill-')
    try {
      const home = join(dir.path, 'store')
      for (let round = 1; round <= 3; round++) {
        {
          await using store = await openStore({home})
          for (let n = 0; n < 150; n++) {
            const saved = await store.save({bytes: crashOriginal(round, n), format: 'raw', name: `r${round}-${n}`})
            if (n % 3 === 0) await store.snapshot(saved.sessionId, {round, n})
            if (n % 2 === 1) await store.remove(saved.sessionId) // for the run to purge
          }
          await store.create({name: `keeper-${round}`})
        }
        const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'gc', '--max-age', '0', '--trash-grace', '0', '--json'], {
          env: {...process.env, NO_COLOR: '1', SESS_HOME: home},
          stderr: 'pipe',
          stdout: 'pipe',
        })
        await Bun.sleep(300 + Math.floor(Math.random() * 900))
        child.kill('SIGKILL')
        await child.exited
        const db = new Database(join(home, 'sess.db'), {readonly: true})
        expect(db.query('pragma integrity_check').all()).toEqual([{integrity_check: 'ok'}])
        db.close()
        // Live sessions are whole: each restores to its bytes (gc only ever trashed some of them).
        {
          await using store = await openStore({home})
          for (const session of await store.list({limit: undefined})) {
            if (session.versionCount === 0) continue
            const [, r, n] = /^r(\d+)-(\d+)$/.exec(session.name)!
            expect(sha256Hex((await store.restore(session.id)).bytes)).toBe(sha256Hex(crashOriginal(Number(r), Number(n))))
          }
        }
        // Sessions in the trash are whole too: a purge deletes rows before content, so a kill
        // mid-purge leaves content no row names (litter), never a session without its content.
        const doctor = sessJson<DoctorJson>(home, ['doctor'])
        const kinds = new Set(doctor.json.findings.map((f) => f.kind))
        for (const kind of kinds) expect(['orphan-content', 'temp-file', 'stale-lock']).toContain(kind)
        {
          await using store = await openStore({home})
          for (const session of await store.list({limit: undefined, trashed: true})) {
            if (session.versionCount === 0) continue
            await store.untrash(session.id)
            const [, r, n] = /^r(\d+)-(\d+)$/.exec(session.name)!
            expect(sha256Hex((await store.restore(session.id)).bytes)).toBe(sha256Hex(crashOriginal(Number(r), Number(n))))
            await store.remove(session.id)
          }
        }
        const next = sessJson<GcJson>(home, ['gc', '--max-age', '0', '--trash-grace', '0'])
        expect(next.code).toBe(0)
        expect(sess(home, ['doctor']).code).toBe(0)
        // What is left: the sessions of a live owner (this process), which gc never collects.
        const left = sessJson<{name: string}[]>(home, ['list', '--limit', '0']).json.map((s) => s.name).sort()
        expect(left).toEqual(Array.from({length: round}, (_, i) => `keeper-${i + 1}`))
        // In the trash: only what this run trashed (a kill before the trash step leaves that to it), purged by the run after.
        const trashedNow = next.json.items.filter((item) => item.action === 'trash').map((item) => item.sessionId).sort()
        expect(sessJson<{id: string}[]>(home, ['list', '--trash', '--limit', '0']).json.map((s) => s.id).sort()).toEqual(trashedNow)
        expect(sessJson<GcJson>(home, ['gc', '--trash-grace', '0']).code).toBe(0)
        expect(sessJson<unknown[]>(home, ['list', '--trash', '--limit', '0']).json).toEqual([])
        expect(readdirSync(join(home, 'blobs'))).toEqual([])
      }
    } finally {
      dir.remove()
    }
  }, 120_000)
})
