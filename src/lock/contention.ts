import ms from 'ms'
import {LockError} from '../errors/index.ts'
import {sleep} from '../os/sleep.ts'
import type {StoreContext} from '../store/context.ts'
import {describeHolder, describeLease, sessionName} from './describe.ts'
import {holderOf, type LockRow, readLock, takeOver} from './table.ts'

/** Longest pause between two looks at a contended lock, ms (randomised around it so that waiters spread). */
const MAX_POLL_MS = 8

/**
 * Why the held lock `row` may be taken over now, or `null` while its holder may still use it:
 * its lease expired, or a `lock.checking` handler proved its holder dead (the locking plugin does,
 * on the same host, by pid, process start time and boot id). Without proof the holder counts as alive.
 *
 * @throws {VetoError} when a `lock.checking` handler vetoes.
 */
export async function staleReason(ctx: StoreContext, row: LockRow): Promise<string | null> {
  if (row.lease_id === null) return null
  const now = ctx.now()
  const expiresAt = Number(row.expires_at)
  if (expiresAt <= now) return `its lease expired ${ms(Math.max(0, now - expiresAt))} ago`
  const checked = await ctx.bus.before('lock.checking', {expiresAt, holder: holderOf(row), sessionId: row.session_id, token: Number(row.token)})
  return checked.dead ?? null
}

/**
 * Waits, for a writer that holds no lease, until the lock seen as `row` no longer stands in its
 * way: released, expired, or held by a holder proven dead (then cleared, raising the token, and
 * reported as `lock.broken`). This is the store's implicit short lock: the write itself then runs
 * in one transaction that checks the lock again.
 *
 * @param deadline ms since the epoch. @throws {LockError} when the lock is still held at `deadline`.
 */
export async function awaitUnlocked(ctx: StoreContext, row: LockRow | undefined, deadline: number): Promise<void> {
  for (let attempt = 0; row && row.lease_id !== null && Number(row.expires_at) > ctx.now(); attempt++) {
    const reason = await staleReason(ctx, row)
    if (reason !== null) {
      const now = ctx.now()
      if ((await ctx.relaxed((connection) => takeOver(ctx, connection, row!, null, now))) !== undefined) {
        await ctx.bus.emit('lock.broken', {holder: holderOf(row), reason, sessionId: row.session_id, token: Number(row.token)})
        return
      }
    } else {
      if (ctx.now() >= deadline) throw await lockedError(ctx, row, 'write to')
      await pause(attempt, deadline - ctx.now())
    }
    row = await readLock(ctx, ctx.db, row.session_id)
  }
}

/** The error for a lock still held by someone else when a wait ends. */
export async function lockedError(ctx: StoreContext, row: LockRow, action: 'lock' | 'write to'): Promise<LockError> {
  const name = await sessionName(ctx.db, row.session_id)
  return new LockError(`Could not ${action} session ${name}: it is locked by ${describeHolder(row)} (fencing token ${row.token}, ${describeLease(row, ctx.now())}).`, {
    hint: `Wait longer (--wait 30s, or {wait} in the library), or see who holds it with \`sess lock status ${name}\`.`,
  })
}

/**
 * Sleeps before look number `attempt` at a contended lock: 1, 2, 4, then up to {@link MAX_POLL_MS}
 * ms, each ±50% at random, never past `remaining` ms.
 *
 * @throws the signal's reason when `signal` aborts first.
 */
export async function pause(attempt: number, remaining: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  await sleep(Math.min(remaining, Math.min(2 ** attempt, MAX_POLL_MS) * (0.5 + Math.random())), signal)
  signal?.throwIfAborted()
}
