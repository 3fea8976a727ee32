import {InvalidInputError, LockError} from '../errors/index.ts'
import {lockHolder} from '../os/process.ts'
import {isSessionId} from '../session/names.ts'
import type {StoreContext} from '../store/context.ts'
import {lockedError, pause, staleReason} from './contention.ts'
import {leaseNotHeld} from './describe.ts'
import {Lease} from './lease.ts'
import {checkTtl, checkWait, DEFAULT_LEASE_TTL} from './options.ts'
import {type Grant, grantIfFree, holderOf, readLock, takeOver} from './table.ts'
import {newLeaseId, parseLeaseToken} from './token.ts'

/** Options of `store.lock()`. */
export interface LockOptions {
  /** How long to wait for a held lock, ms; default 0: fail at once. */
  wait?: number
  /** Lease length, ms; default {@link DEFAULT_LEASE_TTL}. Renewed automatically while this process holds it. */
  ttl?: number
  /** Aborts the wait (rejecting with the signal's reason). */
  signal?: AbortSignal
  /**
   * The process that holds the lock, on this host; default the calling one. Another process's
   * lease is neither renewed nor released by this one: hand it over with `lease.detach()`.
   */
  pid?: number
}

/**
 * Takes the lock of session `ref` (see `Store.lock`). Free: granted with one upsert. Held: taken
 * over at once if {@link staleReason} says so (a compare-and-swap on the row as read, so of two
 * processes taking over one stale lock exactly one wins, and `lock.broken` is emitted); otherwise
 * polled until `wait` runs out.
 *
 * @throws {LockError} when still held by a live lease after `wait` ms, or already held by this store.
 * @throws {NotFoundError} for an unknown session. @throws {InvalidInputError} for bad options or pid.
 */
export async function acquireLock(ctx: StoreContext, ref: string, options: LockOptions = {}): Promise<Lease> {
  const wait = checkWait(options.wait ?? 0)
  const ttl = checkTtl(options.ttl ?? DEFAULT_LEASE_TTL)
  options.signal?.throwIfAborted()
  const pid = options.pid ?? process.pid
  const holder = lockHolder(pid)
  if (holder.startTime === null && pid !== process.pid) throw new InvalidInputError(`No process ${pid} on this host to hold the lock.`, {hint: 'Give the pid of a live process (e.g. $$ for the calling shell).'})
  const grant = (): Grant => ({holder, leaseId: newLeaseId(), now: ctx.now(), ttl})
  const granted = async (given: Grant, sessionId: string, token: number): Promise<Lease> => {
    const lease = new Lease(ctx, {expiresAt: given.now + ttl, holder, leaseId: given.leaseId, sessionId, token, ttl}, pid === process.pid)
    await ctx.bus.emit('lock.acquired', {holder, sessionId, token})
    return lease
  }
  // The fast path: a free lock granted by one statement that also resolves `ref`.
  const first = grant()
  const fast = await ctx.relaxed((connection) => grantIfFree(ctx, connection, isSessionId(ref) ? {id: ref} : {name: ref}, first))
  if (fast) return granted(first, fast.sessionId, fast.token)
  const {id, name} = await ctx.row(ref)
  const current = ctx.leases.get(id)
  if (current instanceof Lease && current.held) {
    throw new LockError(`This process already holds the lock of session ${name} (fencing token ${current.token}); session locks are not reentrant.`, {
      hint: 'Write under the lease you hold, or release it first.',
    })
  }
  const deadline = ctx.now() + wait
  let row = await readLock(ctx, ctx.db, id)
  for (let attempt = 0; ; attempt++) {
    if (!row || row.lease_id === null) {
      const given = grant()
      const fresh = await ctx.relaxed((connection) => grantIfFree(ctx, connection, {id}, given))
      if (fresh) return granted(given, id, fresh.token)
      row = await readLock(ctx, ctx.db, id)
      if (!row || row.lease_id === null) continue // released meanwhile
    }
    const reason = await staleReason(ctx, row)
    if (reason !== null) {
      const given = grant()
      const seen = row
      const token = await ctx.relaxed((connection) => takeOver(ctx, connection, seen, given, given.now))
      if (token !== undefined) {
        await ctx.bus.emit('lock.broken', {holder: holderOf(seen), reason, sessionId: id, token: Number(seen.token)})
        return granted(given, id, token)
      }
    } else {
      if (ctx.now() >= deadline) throw await lockedError(ctx, row, 'lock')
      await pause(attempt, deadline - ctx.now(), options.signal)
    }
    row = await readLock(ctx, ctx.db, id)
  }
}

/**
 * The lease a printed token names (see `Store.lease`), checked against the store: handled by its
 * token, neither renewed automatically nor released on exit.
 *
 * @throws {InvalidInputError} for text that is not a token, or a token this store never granted (exit 2).
 * @throws {LockError} when the lease no longer holds its lock: released, expired or taken over (exit 3).
 */
export async function leaseFromToken(ctx: StoreContext, text: string): Promise<Lease> {
  const ref = parseLeaseToken(text)
  const foreign = () =>
    new InvalidInputError(`The lease token ${text.trim()} was not granted by this store.`, {
      hint: 'Use a token printed by `sess lock acquire` against the same store (--home / SESS_HOME).',
    })
  const session = await ctx.db.selectFrom('sessions').select('name').where('id', '=', ref.sessionId).executeTakeFirst()
  const row = session && (await readLock(ctx, ctx.db, ref.sessionId))
  if (!session || !row || Number(row.token) < ref.token || (Number(row.token) === ref.token && row.lease_id !== null && row.lease_id !== ref.leaseId)) throw foreign()
  const now = ctx.now()
  if (Number(row.token) > ref.token || row.lease_id === null || Number(row.expires_at) <= now) {
    const why = Number(row.token) > ref.token ? `the lock was granted again since (now fencing token ${row.token})` : row.lease_id === null ? 'it was released' : 'it expired without renewal'
    throw leaseNotHeld(session.name, ref.token, why)
  }
  const grant = {...ref, expiresAt: Number(row.expires_at), holder: holderOf(row), ttl: Number(row.ttl_ms)}
  return new Lease(ctx, grant, false)
}
