/**
 * A generated store for the retention tests: sessions of every age, kind, status and size, some
 * pinned, some locked, some with a dead owner (made for real by a child process that exits), one
 * locked by a holder that died (a stale lock).
 */
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {openStore, type SessionStatus, type Store} from '../../src/index.ts'

export const DAY = 86_400_000
/** The generated store's "now". */
export const GC_NOW = Date.UTC(2026, 0, 1)

const OWNER_CHILD = fileURLToPath(new URL('./owner-child.ts', import.meta.url))

/** One generated session: its name, kind, tags, status and last activity (days before {@link GC_NOW}). */
export interface GcFixture {
  name: string
  days: number
  kind: string
  tags?: string[]
  status: SessionStatus
  /** Bytes of its one record's text. */
  size: number
  pinned?: boolean
  /** `live`: this process holds its lock; `dead`: a lease whose holder died. */
  lock?: 'live' | 'dead'
  /** Created by a child process that has exited. */
  deadOwner?: boolean
}

/** The generated sessions, newest activity first. */
export const GC_FIXTURES: readonly GcFixture[] = [
  {days: 1, kind: 'chat', name: 'new-chat', size: 100, status: 'waiting_for_input'},
  {days: 2, kind: 'terminal', name: 'term-new', size: 300, status: 'completed'},
  {days: 15, kind: 'terminal', name: 'term-old', size: 300, status: 'terminated'},
  {days: 20, kind: 'agent', name: 'mid-agent', size: 1_000, status: 'paused', tags: ['work']},
  {days: 25, kind: 'chat', name: 'big', size: 200_000, status: 'completed'},
  {days: 40, kind: 'chat', lock: 'dead', name: 'stale-locked', size: 100, status: 'completed'},
  {days: 50, deadOwner: true, kind: 'agent', name: 'dead-owner', size: 0, status: 'processing'},
  {days: 60, kind: 'chat', name: 'old-chat', size: 5_000, status: 'completed'},
  {days: 70, kind: 'agent', name: 'live-owner', size: 100, status: 'active'},
  {days: 80, kind: 'chat', lock: 'live', name: 'locked', size: 100, status: 'completed'},
  {days: 90, kind: 'chat', name: 'pinned', pinned: true, size: 100, status: 'completed'},
  {days: 100, kind: 'chat', name: 'keep-tag', size: 100, status: 'completed', tags: ['keep']},
]

/**
 * Fills a new store at `home` (its database at `databaseUrl`, when given) with
 * {@link GC_FIXTURES} and returns it open, with its clock at `now` (default {@link GC_NOW};
 * `clock.now` may be moved on) and the live lock held. Pass `Date.now()` when other processes (the
 * CLI) judge the store by the real clock.
 */
export async function generateGcStore(home: string, now = GC_NOW, databaseUrl?: string): Promise<{store: Store; clock: {now: number}}> {
  const clock = {now}
  const store = await openStore({databaseUrl, home, now: () => clock.now})
  for (const fixture of GC_FIXTURES) {
    clock.now = now - fixture.days * DAY
    if (fixture.deadOwner) {
      const env = databaseUrl === undefined ? process.env : {...process.env, SESS_DATABASE_URL: databaseUrl}
      const child = Bun.spawnSync([process.execPath, OWNER_CHILD, home, String(clock.now), fixture.name, fixture.kind, fixture.status], {env})
      if (child.exitCode !== 0) throw new Error(`owner-child failed: ${child.stderr.toString()}`)
      continue
    }
    const session = await store.create({kind: fixture.kind, name: fixture.name, tags: fixture.tags})
    if (fixture.size > 0) await store.append(session.id, {parts: [{text: 'x'.repeat(fixture.size), type: 'text'}], role: 'user', type: 'message'})
    await store.setStatus(session.id, fixture.status)
    if (fixture.pinned) await store.pin(session.id)
  }
  clock.now = now
  for (const fixture of GC_FIXTURES) {
    if (fixture.lock === 'live') await store.lock(fixture.name, {ttl: 3_600_000})
    if (fixture.lock === 'dead') {
      const holder = Bun.spawn(['sleep', '60'])
      const lease = await store.lock(fixture.name, {pid: holder.pid, ttl: 3_600_000})
      lease.detach()
      holder.kill('SIGKILL')
      await holder.exited
    }
  }
  return {clock, store}
}

/** A home for a generated store inside `dir`. */
export function gcHome(dir: string): string {
  return join(dir, 'store')
}
