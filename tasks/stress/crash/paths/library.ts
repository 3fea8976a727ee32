/**
 * The library's write paths, written by `test/helpers/crash-child.ts` in a long-running child that
 * reports each commit as it happens: records (`append`), records with originals and snapshots
 * (`mixed`), output events (`output`), lock grants and releases around fenced appends (`lock`).
 * Each kill is checked with the crash test's checker (`verifyStore`): every reported commit there,
 * byte for byte, and nothing but the one write in flight.
 */
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {openStore, type Store} from '../../../../src/index.ts'
import {absorb, newCursor, newReported, verifyStore} from '../../../../test/helpers/crash-check.ts'
import {CRASH_SESSION, type CrashMode, crashRecord} from '../../../../test/helpers/crash-child.ts'
import type {CrashPath, PathFactory} from '../path.ts'

const CHILD = fileURLToPath(new URL('../../../../test/helpers/crash-child.ts', import.meta.url))

/** Kills land uniformly within this long after the child's `ready`, in ms. */
const WINDOW_MS = 250

/** Every this many cases, the whole store is checked from its first record (else what is new). */
const FULL_EVERY = 10

/** What a kill may leave: an unfinished blob write, a lock and a session whose holder and owner died. */
const LITTER: ReadonlySet<string> = new Set(['temp-file', 'orphan-content', 'stale-lock', 'dead-owner'])

/** The path of crash-child mode `mode`. */
export function libraryPath(mode: CrashMode): PathFactory {
  return async (dir) => {
    const home = join(dir, 'store')
    const reported = newReported()
    const cursor = newCursor()
    // The child creates the session; the store must exist and hold it for the first check.
    await (await openStore({home})).close()
    const path: CrashPath = {
      async arm(n) {
        return {
          async check(store, outcome) {
            absorb(reported, outcome.lines, n)
            const problems = outcome.killed ? [] : [`the child ended by itself (exit ${outcome.exitCode}): ${outcome.stderr.trim().slice(-400)}`]
            problems.push(...(await verifyStore(store, reported, cursor, {full: n % FULL_EVERY === 0})))
            if (problems.length === 0) problems.push(...(await probeWrite(store, reported)))
            return problems
          },
          async after(store) {
            // The doctor's release of a stale lock raises its fencing token too (so that the dead holder's writes would be refused).
            const [lock] = await store.locks(CRASH_SESSION)
            cursor.lockToken = Math.max(cursor.lockToken, lock?.token ?? 0)
          },
          victim: {afterReady: true, argv: [process.execPath, CHILD, home, mode, String(n)]},
        }
      },
      home,
      litter: LITTER,
      timing: {afterReady: true, maxMs: WINDOW_MS},
    }
    return path
  }
}

/** The store still takes a write: appends the next record (the next child continues after it). */
async function probeWrite(store: Store, reported: {records: number}): Promise<string[]> {
  const session = await store.get(CRASH_SESSION)
  const seq = await store.append(session.id, crashRecord(session.recordCount + 1))
  if (seq !== session.recordCount + 1) return [`probe: append after the kill got seq ${seq}, not ${session.recordCount + 1}`]
  reported.records = seq
  return []
}
