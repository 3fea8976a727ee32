/**
 * `sess gc --compress-after 0 --trash-grace 0 --max-sessions N` killed at random instants, while
 * it compresses the originals and snapshots of new sessions, trashes the oldest beyond N and
 * purges what was in the trash before it started. Every session must be where it was or where gc
 * takes it (live to the trash, the trash to gone; never live to gone), and wherever it is, whole:
 * compressed or not, it restores byte for byte (those the run worked on after each kill, every
 * live one every tenth; for those in the trash, the doctor checks that their blobs are there).
 */
import {join} from 'node:path'
import {openStore, type Store} from '../../../../src/index.ts'
import {sessArgv, sessEnv} from '../../../../test/helpers/cli.ts'
import {sessJsonl} from '../inputs.ts'
import {checkSaved, type CrashPath, failedRun, type PathFactory, type SavedExpectation, whereIs} from '../path.ts'
import type {VictimOutcome} from '../victim.ts'

/** Sessions saved before each run. */
const NEW_SESSIONS = 6

/** Sessions moved to the trash before each run (so that it purges them), and beyond the run's --max-sessions. */
const TRASHED = 2

/** Every this many cases, every live session is restored (else those of this case and the one before, which gc compresses). */
const FULL_EVERY = 10

/** A session gc works on, what it holds, the case that saved it, and where it was when the run started. */
interface Known extends SavedExpectation {
  id: string
  word: string
  snapshot: Uint8Array
  saved: number
  where: 'live' | 'trashed'
}

/** `gc`. */
export const gcPath: PathFactory = async (dir) => {
  const home = join(dir, 'store')
  const known = new Map<string, Known>()
  const path: CrashPath = {
    async arm(n) {
      let live: number
      {
        await using store = await openStore({home})
        const oldest = [...known.values()].filter((s) => s.where === 'live').slice(0, TRASHED)
        for (const session of oldest) {
          await store.remove(session.id)
          session.where = 'trashed'
        }
        for (let i = 1; i <= NEW_SESSIONS; i++) {
          const input = sessJsonl(`gc${n}x${i}`, 80, 800)
          const name = `gc${n}-${i}`
          const {sessionId: id} = await store.save({bytes: input.bytes, name})
          const snapshot = new TextEncoder().encode(`{"draft": "${`state of ${name} `.repeat(1_000)}"}`)
          await store.snapshot(id, snapshot)
          known.set(id, {bytes: input.bytes, id, name, records: input.records, saved: n, snapshot, where: 'live', word: input.word})
        }
        live = [...known.values()].filter((s) => s.where === 'live').length
      }
      return {
        check: (store, outcome) => checkCollected(store, outcome, known, n),
        victim: {argv: sessArgv(['gc', '--compress-after', '0', '--trash-grace', '0', '--max-sessions', String(live - TRASHED)]), env: sessEnv(home)},
      }
    },
    home,
    litter: new Set(['temp-file', 'orphan-content']),
    timing: {afterReady: false},
  }
  return path
}

async function checkCollected(store: Store, outcome: VictimOutcome, known: Map<string, Known>, n: number): Promise<string[]> {
  const problems = failedRun(outcome)
  let compressed = 0
  let uncompressed = 0
  for (const session of [...known.values()]) {
    const where = await whereIs(store, session.id)
    const allowed = session.where === 'live' ? ['live', 'trashed'] : outcome.exitCode === 0 ? ['gone'] : ['trashed', 'gone']
    if (!allowed.includes(where)) problems.push(`${session.name}: ${where}, though it was ${session.where} and gc ${outcome.exitCode === 0 ? 'completed' : 'was killed'}`)
    if (where === 'gone') {
      const hits = await store.search(session.word, {includeTrashed: true, limit: 0})
      if (hits.length > 0) problems.push(`${session.name}: purged, but the search index still finds ${hits.length} of its records`)
      known.delete(session.id)
      continue
    }
    session.where = where
    if (where === 'trashed') {
      const [version] = await store.versions(session.id, {includeTrashed: true})
      if (version?.sha256 !== new Bun.CryptoHasher('sha256').update(session.bytes).digest('hex')) problems.push(`${session.name}: in the trash, its version is not the one saved`)
      continue
    }
    const [version] = await store.versions(session.id)
    if (version?.codec === 'zstd') compressed += 1
    else uncompressed += 1
    if (session.saved < n - 1 && n % FULL_EVERY !== 0) continue
    problems.push(...(await checkSaved(store, session.id, session)))
    try {
      const {bytes} = await store.latestSnapshot(session.id)
      if (!Buffer.from(bytes).equals(session.snapshot)) problems.push(`${session.name}: its snapshot reads back other bytes`)
    } catch (error) {
      problems.push(`${session.name}: ghost: its snapshot cannot be read: ${(error as Error).message}`)
    }
  }
  if (outcome.exitCode === 0 && uncompressed > 0) problems.push(`gc exited 0, but ${uncompressed} of ${compressed + uncompressed} live sessions are not compressed`)
  return problems
}
