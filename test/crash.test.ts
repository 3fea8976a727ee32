/**
 * Crash safety (DESIGN §7): a child process (`test/helpers/crash-child.ts`) writes to a store in a
 * loop and is killed with SIGKILL at a random instant, again and again on the same store. After
 * every kill the store, opened afresh with the library, must hold everything the child reported
 * as committed, exactly, and nothing half-written: a contiguous transcript whose records are the
 * ones written, the right record count, every saved original restorable byte for byte, no session
 * row whose content cannot be read, readable snapshots, and it must still accept writes.
 *
 *   npm test -- test/crash.test.ts                       200 kills (default)
 *   SESS_CRASH_KILLS=20 npm test -- test/crash.test.ts   a quick run
 *   SESS_CRASH_SEED=1234 …                              the same kill delays again
 */
import {Database} from 'bun:sqlite'
import {readdirSync, renameSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {openStore} from '../src/index.ts'
import {tempDir} from './helpers/cli.ts'
import {
  CRASH_SESSION,
  CRASH_SNAPSHOTS_KEPT,
  crashOriginal,
  crashOriginalName,
  crashRecord,
  crashSnapshot,
  sha256Hex,
} from './helpers/crash-child.ts'

const CHILD = fileURLToPath(new URL('./helpers/crash-child.ts', import.meta.url))
const KILLS = Math.max(1, Number(process.env.SESS_CRASH_KILLS ?? 200))
const SEED = Number(process.env.SESS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
/** Kill this long after the child said `ready`: a uniform random delay in [MIN, MAX] ms. */
const MIN_DELAY_MS = 20
const MAX_DELAY_MS = 250
/**
 * Every kill checks everything that can have changed since the last check (the transcript from
 * the last verified record on, every session created since, the snapshots); every FULL_EVERY kills,
 * and after the last, the whole store is checked again from the first record.
 */
const FULL_EVERY = 10
const PATTERN_ORIGINAL = /^crash-r(\d+)-(\d+)$/

/** What the child reported as committed, over all runs on one store. */
interface Reported {
  /** Records the transcript must hold (every `ok` and `ready` count, and the test's own appends). */
  records: number
  /** Saved originals: session id → sha256 and name. */
  saved: Map<string, {sha256: string; name: string}>
  /** Highest original number `n` reported saved, per run. */
  savedN: Map<number, number>
  /** Snapshots: seq → sha256. */
  snapshots: Map<number, string>
  /** Highest snapshot seq reported. */
  lastSnapshot: number
}

/** How far a store has been verified already (so that each kill checks what is new). */
interface Cursor {
  /** Records 1..records were verified. */
  records: number
  /** Newest snapshot seq seen. */
  snapshots: number
  /** Imported sessions verified (restored and compared). */
  sessions: Set<string>
  /** Writes found committed though the kill came before they were reported (the kill hit the write). */
  unreported: {records: number; saves: number; snapshots: number}
}

function newReported(): Reported {
  return {lastSnapshot: 0, records: 0, saved: new Map(), savedN: new Map(), snapshots: new Map()}
}

function newCursor(): Cursor {
  return {records: 0, snapshots: 0, sessions: new Set(), unreported: {records: 0, saves: 0, snapshots: 0}}
}

/** Folds the lines a child printed (complete lines only) into `reported`. */
function absorb(reported: Reported, lines: string[], run: number): void {
  for (const line of lines) {
    const [word, a = '', b = '', c = ''] = line.split(' ')
    if (word === 'ready' || word === 'ok') reported.records = Math.max(reported.records, Number(a))
    else if (word === 'saved') {
      reported.saved.set(a, {name: c, sha256: b})
      reported.savedN.set(run, Math.max(reported.savedN.get(run) ?? 0, Number(PATTERN_ORIGINAL.exec(c)?.[2] ?? 0)))
    } else if (word === 'snap') {
      reported.snapshots.set(Number(a), b)
      reported.lastSnapshot = Math.max(reported.lastSnapshot, Number(a))
    } else throw new Error(`The child printed an unexpected line: ${line}`)
  }
}

/**
 * Opens the store at `home` with the library and checks it against what was reported; returns the
 * problems found (empty when all is well) and, when there are none, advances `cursor`.
 */
async function verifyStore(home: string, reported: Reported, cursor: Cursor, options: {full: boolean}): Promise<string[]> {
  const problems: string[] = []
  const store = await openStore({home})
  try {
    // The transcript: contiguous 1..n, each record the one written for its seq, n within bounds.
    const session = await store.get(CRASH_SESSION)
    const from = options.full ? 0 : cursor.records
    let expected = from === 0 ? 1 : from
    for await (const {record, seq} of store.records(session.id, {after: Math.max(0, from - 1)})) {
      if (seq !== expected) {
        problems.push(seq > expected ? `transcript: gap, seq ${expected}…${seq - 1} missing` : `transcript: seq ${seq} repeated or out of order (expected ${expected})`)
        if (problems.length > 20) break
      } else if (JSON.stringify(record) !== JSON.stringify(crashRecord(seq))) {
        problems.push(`transcript: record ${seq} differs from what was written: ${JSON.stringify(record).slice(0, 120)}`)
      }
      expected = seq + 1
    }
    const count = expected - 1
    if (count < reported.records) problems.push(`transcript: ${count} records, but ${reported.records} were reported committed`)
    if (count > reported.records + 1) problems.push(`transcript: ${count} records, but at most ${reported.records} + 1 in flight can be there`)
    if (session.recordCount !== count) problems.push(`transcript: recordCount is ${session.recordCount}, but it holds ${count} records`)

    // Imported sessions: every reported save is there and restores to its bytes; every imported
    // session (reported or not) restores, to the bytes its name says, and none is a phantom.
    const sessions = await store.list({limit: undefined})
    const listed = new Map(sessions.map((s) => [s.id, s]))
    for (const [id, save] of reported.saved) {
      const found = listed.get(id)
      if (!found) problems.push(`save: session ${id} (${save.name}) was reported saved but is not listed`)
      else if (found.name !== save.name) problems.push(`save: session ${id} is named ${found.name}, not ${save.name}`)
    }
    for (const s of sessions) {
      if (s.versionCount === 0) {
        if (s.name !== CRASH_SESSION) problems.push(`list: unexpected session ${s.name} (${s.id}) without an original`)
        continue
      }
      if (!options.full && cursor.sessions.has(s.id)) continue
      const match = PATTERN_ORIGINAL.exec(s.name)
      if (!match) {
        problems.push(`list: unexpected imported session ${s.name} (${s.id})`)
        continue
      }
      const run = Number(match[1])
      const n = Number(match[2])
      const save = reported.saved.get(s.id)
      if (!save && n !== (reported.savedN.get(run) ?? 0) + 1) {
        problems.push(`save: ${s.name} is there but was neither reported nor the one in flight of run ${run}`)
      }
      let bytes: Uint8Array
      try {
        const restored = await store.restore(s.id)
        bytes = restored.bytes
        if (!restored.original) problems.push(`save: ${s.name} restored as a conversion, not its original`)
      } catch (error) {
        problems.push(`save: ghost: ${s.name} (${s.id}) is listed but cannot be restored: ${(error as Error).message}`)
        continue
      }
      const sha256 = sha256Hex(bytes)
      if (sha256 !== sha256Hex(crashOriginal(run, n))) problems.push(`save: ${s.name} restores to other bytes than were saved`)
      if (save && sha256 !== save.sha256) problems.push(`save: ${s.name} restores to sha256 ${sha256}, reported ${save.sha256}`)
    }

    // Snapshots: the newest is at least the last reported; the kept ones read back intact.
    let latestSeq = 0
    if (reported.lastSnapshot > 0) {
      const latest = await store.latestSnapshot(session.id).catch((error: unknown) => {
        problems.push(`snapshot: none readable, ${reported.lastSnapshot} reported: ${(error as Error).message}`)
        return undefined
      })
      latestSeq = latest?.seq ?? 0
      // At most one more than known: a kill may land after a snapshot's commit and before its report,
      // and then the next run's snapshots follow that unreported one (seen by the last check).
      const known = Math.max(reported.lastSnapshot, cursor.snapshots)
      if (latest && (latest.seq < reported.lastSnapshot || latest.seq > known + 1)) {
        problems.push(`snapshot: newest is ${latest.seq}, reported ${reported.lastSnapshot}${known > reported.lastSnapshot ? ` (${known} seen)` : ''}`)
      }
      for (let seq = Math.max(1, (latest?.seq ?? 0) - CRASH_SNAPSHOTS_KEPT + 1); latest && seq <= latest.seq; seq++) {
        try {
          const {bytes} = await store.latestSnapshot(session.id, seq)
          const state = JSON.parse(new TextDecoder().decode(bytes)) as {run: number; n: number}
          if (JSON.stringify(state) !== JSON.stringify(crashSnapshot(state.run, state.n))) problems.push(`snapshot: ${seq} holds other state than was written`)
          const want = reported.snapshots.get(seq)
          if (want !== undefined && want !== sha256Hex(bytes)) problems.push(`snapshot: ${seq} has sha256 ${sha256Hex(bytes)}, reported ${want}`)
        } catch (error) {
          problems.push(`snapshot: ${seq} (of the ${CRASH_SNAPSHOTS_KEPT} kept) cannot be read: ${(error as Error).message}`)
        }
      }
    }
    if (problems.length === 0) {
      if (count > reported.records && count > cursor.records) cursor.unreported.records++
      for (const s of sessions) {
        if (s.versionCount > 0 && !cursor.sessions.has(s.id) && !reported.saved.has(s.id)) cursor.unreported.saves++
        if (s.versionCount > 0) cursor.sessions.add(s.id)
      }
      if (latestSeq > reported.lastSnapshot && latestSeq > cursor.snapshots) cursor.unreported.snapshots++
      cursor.records = count
      cursor.snapshots = Math.max(cursor.snapshots, latestSeq)
    }
  } finally {
    await store.close()
  }
  return problems
}

/** The store still takes a write: appends the next record (the child continues after it). */
async function probeWrite(home: string, reported: Reported): Promise<void> {
  await using store = await openStore({home})
  const session = await store.get(CRASH_SESSION)
  const seq = await store.append(session.id, crashRecord(session.recordCount + 1))
  expect(seq).toBe(session.recordCount + 1)
  reported.records = seq
}

/** A small seeded PRNG (mulberry32), so that a run's delays can be repeated with SESS_CRASH_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** A child process started with `--wait`: loaded, not yet writing. */
interface Child {
  run: number
  mode: 'append' | 'mixed'
  process: Bun.Subprocess<'pipe', 'pipe', 'pipe'>
  /** Everything it printed so far. */
  out: () => string
  ready: Promise<void>
  /** Resolves when its stdout is closed. */
  reading: Promise<void>
  stderr: Promise<string>
}

/** Starts the child on `home`; it loads its modules and waits for {@link killAfterReady}. */
function startChild(home: string, mode: 'append' | 'mixed', run: number): Child {
  const child = Bun.spawn([process.execPath, CHILD, home, mode, String(run), '--wait'], {stderr: 'pipe', stdin: 'pipe', stdout: 'pipe'})
  let out = ''
  let onReady = (): void => undefined
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  const reading = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of child.stdout) {
      out += decoder.decode(chunk, {stream: true})
      if (/^ready \d+\n/.test(out)) onReady()
    }
  })()
  return {mode, out: () => out, process: child, reading, ready, run, stderr: new Response(child.stderr).text()}
}

/** Lets `child` go, SIGKILLs it `delayMs` after it said `ready`, and returns the complete lines it printed. */
async function killAfterReady(child: Child, delayMs: number): Promise<string[]> {
  const {process: proc} = child
  proc.stdin.write('go\n')
  await proc.stdin.flush()
  let timer: ReturnType<typeof setTimeout> | undefined
  const outcome = await Promise.race([
    child.ready.then(() => 'ready' as const),
    proc.exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 20_000)
    }),
  ])
  clearTimeout(timer)
  if (outcome === 'ready') await Bun.sleep(delayMs)
  proc.kill('SIGKILL')
  await proc.exited
  await child.reading
  if (outcome !== 'ready' || proc.signalCode !== 'SIGKILL') {
    const what = outcome === 'ready' ? `exited by itself (${proc.exitCode})` : outcome === 'timeout' ? 'never got ready' : 'exited before ready'
    throw new Error(`The child (run ${child.run}, ${child.mode}) ${what}.\nstdout: ${child.out().slice(-500)}\nstderr: ${await child.stderr}`)
  }
  const lines = child.out().split('\n')
  lines.pop() // the last is empty, or a line cut by the kill
  return lines
}

describe('crash safety (SIGKILL at a random instant)', () => {
  it(`keeps every committed write and nothing torn, over ${KILLS} kills`, async () => {
    const dir = tempDir('sess-crash-')
    const home = join(dir.path, 'store')
    const next = random(SEED)
    const reported = newReported()
    const cursor = newCursor()
    const started = performance.now()
    const modeOf = (kill: number) => (kill % 2 === 1 ? 'append' : 'mixed')
    // The next child is started (and loads its modules) while the current one runs and is checked.
    let child = startChild(home, modeOf(1), 1)
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        const mode = modeOf(kill)
        const delay = Math.round(MIN_DELAY_MS + next() * (MAX_DELAY_MS - MIN_DELAY_MS))
        const current = child
        child = startChild(home, modeOf(kill + 1), kill + 1)
        const lines = await killAfterReady(current, delay)
        absorb(reported, lines, kill)
        const full = kill % FULL_EVERY === 0 || kill === KILLS
        const problems = await verifyStore(home, reported, cursor, {full})
        if (problems.length > 0) {
          throw new Error(`After kill ${kill} of ${KILLS} (${mode}, ${delay} ms after ready; SESS_CRASH_SEED=${SEED}):\n  ${problems.join('\n  ')}\nlast lines of the child: ${lines.slice(-3).join(' | ')}`)
        }
        await probeWrite(home, reported)
      }
      const db = new Database(join(home, 'sess.db'), {readonly: true})
      try {
        expect(db.query('pragma integrity_check').all()).toEqual([{integrity_check: 'ok'}])
        const live = new Set((db.query('select blob from versions union all select blob from snapshots').all() as {blob: string}[]).map((row) => row.blob))
        const files = readdirSync(join(home, 'blobs'), {recursive: true, withFileTypes: true}).filter((entry) => entry.isFile())
        const orphans = files.filter((entry) => !live.has(entry.name)).length
        // Not a failure: a blob is written before the row that names it, so a kill in between leaves
        // a file without a row, which `sess gc` removes (DESIGN §3). Printed for the record.
        console.log(
          `crash test: ${KILLS} kills in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${SEED}): ${reported.records} records, ` +
            `${cursor.sessions.size} imported sessions, ${reported.lastSnapshot} snapshots; kills that hit a write found it committed though ` +
            `unreported: ${JSON.stringify(cursor.unreported)}; ${orphans} orphan blob files of ${files.length}`,
        )
      } finally {
        db.close()
      }
    } finally {
      child.process.kill('SIGKILL')
      await child.process.exited
      dir.remove()
    }
  }, 170_000)
})

describe('the crash checker', () => {
  it('catches a dropped, changed or missing record, a wrong count, a lost save, a ghost and a bad snapshot', async () => {
    const dir = tempDir('sess-crash-check-')
    const home = join(dir.path, 'store')
    const reported = newReported()
    try {
      {
        await using store = await openStore({home})
        const session = await store.create({kind: 'agent', name: CRASH_SESSION})
        for (let seq = 1; seq <= 6; seq++) await store.append(session.id, crashRecord(seq))
        const bytes = crashOriginal(1, 1)
        const saved = await store.save({bytes, format: 'raw', name: crashOriginalName(1, 1)})
        absorb(reported, ['ready 0', 'ok 6', `saved ${saved.sessionId} ${sha256Hex(bytes)} ${saved.name}`], 1)
        const state = crashSnapshot(1, 1)
        const snap = await store.snapshot(session.id, state, {keep: CRASH_SNAPSHOTS_KEPT})
        absorb(reported, [`snap ${snap} ${sha256Hex(new TextEncoder().encode(JSON.stringify(state)))}`], 1)
      }
      const check = () => verifyStore(home, reported, newCursor(), {full: true})
      expect(await check()).toEqual([])

      const db = new Database(join(home, 'sess.db'))
      try {
        const tamper = async (label: string, change: string, undo: string, want: RegExp) => {
          db.run(change)
          const problems = await check()
          db.run(undo)
          expect(problems.join('\n'), label).toMatch(want)
        }
        /** SQL that puts record `seq` back as it is now. */
        const putBack = (seq: number): string => {
          const row = db.query('select session_id, seq, ts, type, body from records where seq = ?').get(seq) as Record<string, string | number | null>
          const values = [row.session_id, row.seq, row.ts, row.type, row.body].map((value) => (typeof value === 'string' ? sqlText(value) : String(value)))
          return `insert or replace into records (session_id, seq, ts, type, body) values (${values.join(', ')})`
        }
        await tamper('dropped record', 'delete from records where seq = 3', putBack(3), /gap, seq 3…3 missing/)
        await tamper('changed record', `update records set body = ${sqlText(JSON.stringify(crashRecord(5)))} where seq = 4`, putBack(4), /record 4 differs/)
        await tamper('wrong count', 'update sessions set record_count = 7 where record_count = 6', 'update sessions set record_count = 6 where record_count = 7', /recordCount is 7/)
        await tamper('lost tail', 'delete from records where seq = 6', putBack(6), /5 records, but 6 were reported/)
        await tamper('lost save', 'update sessions set trashed_at = 1 where version_count > 0', 'update sessions set trashed_at = null', /reported saved but is not listed/)
        await tamper('bad snapshot', `update snapshots set sha256 = '${'0'.repeat(64)}'`, `update snapshots set sha256 = '${[...reported.snapshots.values()][0]}'`, /snapshot: (none readable|1 .*cannot be read).*damaged/)
      } finally {
        db.close()
      }
      expect(await check()).toEqual([])
      // A ghost: a session row whose original's file is gone.
      const [savedId] = reported.saved.keys()
      const blobDir = join(home, 'blobs', savedId ?? '')
      const [blob] = readdirSync(blobDir)
      renameSync(join(blobDir, blob ?? ''), join(dir.path, 'moved'))
      expect((await check()).join('\n')).toMatch(/ghost: crash-r1-1 .* cannot be restored/)
      renameSync(join(dir.path, 'moved'), join(blobDir, blob ?? ''))
      // A phantom: an imported session nobody reported and that was not in flight.
      reported.savedN.set(1, 0)
      reported.saved.clear()
      const store = await openStore({home})
      await store.save({bytes: crashOriginal(1, 3), format: 'raw', name: crashOriginalName(1, 3)})
      await store.close()
      expect((await check()).join('\n')).toMatch(/crash-r1-3 is there but was neither reported nor the one in flight/)
    } finally {
      dir.remove()
    }
  })
})

/** `text` as an SQL string literal. */
function sqlText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
