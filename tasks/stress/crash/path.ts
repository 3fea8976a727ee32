import {NotFoundError, type Store} from '../../../src/index.ts'
import type {Victim, VictimOutcome} from './victim.ts'

/**
 * One write path of the crash matrix: a store of its own, and cases that each start a victim
 * writing to it, which the matrix kills at a random instant.
 */
export interface CrashPath {
  /** The store's home. */
  home: string
  /**
   * Doctor finding kinds a kill on this path may leave: crash litter, which `doctor --fix` clears
   * (a temp file, an orphan blob, a stale lock, a dead owner). Any other finding is a failure.
   */
  litter: ReadonlySet<string>
  /**
   * Where the kill instants fall: uniformly within `maxMs` after the victim's `ready` line (a
   * library child), or over the CLI command's run as the matrix measures it.
   */
  timing: {afterReady: true; maxMs: number} | {afterReady: false}
  /** Figures of its own for the suite's last lines (what kills left outside the store…). */
  summary?(): string
  /** Prepares case `n` (writes what it needs into the store, in this process, before the victim starts) and returns it. */
  arm(n: number): Promise<CrashCase>
}

/** One case of a path. */
export interface CrashCase {
  victim: Victim
  /**
   * Checks the store, opened afresh after the victim ended or was killed, against what the case
   * wrote and what the victim reported committed.
   *
   * @returns the problems found, one line each.
   */
  check(store: Store, outcome: VictimOutcome): Promise<string[]>
  /**
   * Runs after the check and the doctor's repairs, on the store as they left it: brings what the
   * path keeps track of up to date with those repairs, and removes what the case left, to keep
   * the store small.
   */
  after?(store: Store): Promise<void>
}

/** Makes a path whose store lives in `dir`. */
export type PathFactory = (dir: string, options: {quick: boolean}) => Promise<CrashPath>

/** Where a session is: live, in the trash, or gone (purged, or never committed). */
export async function whereIs(store: Store, id: string): Promise<'live' | 'trashed' | 'gone'> {
  try {
    const session = await store.get(id, {includeTrashed: true})
    return session.trashedAt === null ? 'live' : 'trashed'
  } catch (error) {
    if (error instanceof NotFoundError) return 'gone'
    throw error
  }
}

/** What a saved session must hold. */
export interface SavedExpectation {
  name: string
  bytes: Uint8Array
  records: number
}

/**
 * Checks that live session `id` is wholly there: it restores to `expected.bytes` byte for byte, as
 * its original, and indexes `expected.records` records.
 *
 * @returns the problems found.
 */
export async function checkSaved(store: Store, id: string, expected: SavedExpectation): Promise<string[]> {
  const problems: string[] = []
  try {
    const session = await store.get(id)
    if (session.recordCount !== expected.records) problems.push(`${expected.name}: ${session.recordCount} records indexed, ${expected.records} saved`)
    const restored = await store.restore(id)
    if (!restored.original || !Buffer.from(restored.bytes).equals(expected.bytes)) problems.push(`${expected.name}: restores to other bytes (${restored.bytes.length}) than were saved (${expected.bytes.length})`)
  } catch (error) {
    problems.push(`${expected.name}: ghost: listed but cannot be read: ${(error as Error).message}`)
  }
  return problems
}

/** Purges every session of the store (live or in the trash). */
export async function purgeAll(store: Store): Promise<void> {
  for (const session of [...(await store.list({limit: undefined})), ...(await store.list({limit: undefined, trashed: true}))]) await store.remove(session.id, {purge: true})
}

/** A problem when the victim ended by itself with a failure (a kill that came too late is no failure). */
export function failedRun(outcome: VictimOutcome): string[] {
  return !outcome.killed && outcome.exitCode !== 0 ? [`the command failed by itself (exit ${outcome.exitCode}): ${outcome.stderr.trim().slice(-400)}`] : []
}
