import {LockError} from '../errors/index.ts'
import type {LockHolder} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import {leaseNotHeld, sessionName} from './describe.ts'
import {checkTtl} from './options.ts'
import {releaseOnSignal} from './signals.ts'
import {releaseLease, renewLease} from './table.ts'
import {formatLeaseToken, type LeaseRef} from './token.ts'

/** What a grant hands to its {@link Lease}. */
export interface LeaseGrant extends LeaseRef {
  holder: LockHolder
  /** ms. */
  ttl: number
  /** ms since the epoch. */
  expiresAt: number
}

/**
 * A held session lock: the right to write to one session until it is released, lost or expires
 * (DESIGN §4, §7). Every write to the session through the store that took it carries its fencing
 * {@link token}; once the lease is lost (taken over after its TTL, released) those writes are
 * refused, however late the old holder wakes up.
 *
 * A lease the calling process holds is renewed automatically every `ttl / 3` and released on
 * scope exit (`await using`), on `release()`, on `store.close()`, and on SIGINT or SIGTERM when
 * the application does not handle those signals itself.
 *
 * @example
 * ```ts
 * await using lease = await store.lock('support-42', {wait: 5_000})
 * const last = await store.records('support-42', {last: 1}).next()
 * await store.append('support-42', next(last))     // checked against lease.token
 * ```
 */
export class Lease implements AsyncDisposable, LeaseRef {
  readonly sessionId: string
  /** Fencing token of this grant: greater than that of every earlier grant of this session's lock. */
  readonly token: number
  /** This grant's secret (part of {@link tokenString}). */
  readonly leaseId: string
  /** The process that holds the lock. */
  readonly holder: LockHolder
  readonly #ctx: StoreContext
  readonly #lost = new AbortController()
  readonly #cleanups: (() => void)[] = []
  readonly #owned: boolean
  #ttl: number
  #expiresAt: number
  #done = false
  #renewal: ReturnType<typeof setTimeout> | undefined

  /**
   * @param owned whether this process holds it (renewed automatically, released on close and
   *   signals), as opposed to a lease held by another process and only handled here by its token.
   */
  constructor(ctx: StoreContext, grant: LeaseGrant, owned: boolean) {
    this.#ctx = ctx
    this.sessionId = grant.sessionId
    this.token = grant.token
    this.leaseId = grant.leaseId
    this.holder = grant.holder
    this.#ttl = grant.ttl
    this.#expiresAt = grant.expiresAt
    this.#owned = owned
    ctx.leases.set(this.sessionId, this)
    this.#cleanups.push(() => {
      if (ctx.leases.get(this.sessionId) === this) ctx.leases.delete(this.sessionId)
    })
    if (owned) {
      const release = () => this.release()
      this.#cleanups.push(() => clearTimeout(this.#renewal), ctx.beforeClose(release), releaseOnSignal(release))
      this.#scheduleRenewal()
    }
  }

  /** Lease length, ms. */
  get ttl(): number {
    return this.#ttl
  }

  /** When the lease ends unless renewed, ms since the epoch (as last granted or renewed here). */
  get expiresAt(): number {
    return this.#expiresAt
  }

  /** Whether this lease still holds the lock, as far as this process knows (a renewal or write finds out for sure). */
  get held(): boolean {
    return !this.#done && !this.#lost.signal.aborted
  }

  /** Aborted, with a {@link LockError} as its reason, when a renewal finds the lease lost: stop working on the session. */
  get signal(): AbortSignal {
    return this.#lost.signal
  }

  /** The printable token (`<session id>.<fencing token>.<secret>`) for scripts and `SESS_LOCK_TOKEN`. */
  get tokenString(): string {
    return formatLeaseToken(this)
  }

  /**
   * Extends the lease to `ttl` ms from now (default: its current TTL).
   *
   * @throws {LockError} when it no longer holds the lock (released, expired, or taken over).
   * @throws {InvalidInputError} for a TTL that is not a whole number of ms ≥ 100.
   */
  async renew(ttl = this.#ttl): Promise<void> {
    checkTtl(ttl)
    if (this.#done) throw await this.#notHeld('it was released')
    const now = this.#ctx.now()
    if (!(await this.#ctx.relaxed((connection) => renewLease(this.#ctx, connection, this, now, ttl)))) {
      const error = await this.#notHeld('it expired or was taken over')
      this.#lost.abort(error)
      throw error
    }
    this.#ttl = ttl
    this.#expiresAt = now + ttl
    this.#scheduleRenewal()
  }

  /**
   * Releases the lock (emitting `lock.released`). Idempotent.
   *
   * @returns `true` when this call released it; `false` when it no longer held it.
   * @throws {StorageError} when the database fails (the lease then ends by expiry or death).
   */
  async release(): Promise<boolean> {
    if (this.#done) return false
    this.#finish()
    const released = await this.#ctx.relaxed((connection) => releaseLease(this.#ctx, connection, this, this.#ctx.now()))
    if (released) await this.#ctx.bus.emit('lock.released', {sessionId: this.sessionId, token: this.token})
    return released
  }

  /**
   * Stops handling the lease in this process — no renewal, no release on exit — and returns its
   * printable token, for another process (e.g. a shell script) to renew and release.
   */
  detach(): string {
    this.#finish()
    return this.tokenString
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }

  /** Renews an owned lease a third of its TTL from now (retrying after a failure that did not lose it). */
  #scheduleRenewal(): void {
    if (!this.#owned || !this.held) return
    clearTimeout(this.#renewal)
    this.#renewal = setTimeout(() => void this.renew().catch(() => this.#scheduleRenewal()), Math.max(1, Math.floor(this.#ttl / 3)))
    this.#renewal.unref()
  }

  #finish(): void {
    this.#done = true
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
  }

  async #notHeld(why: string): Promise<LockError> {
    return leaseNotHeld(await sessionName(this.#ctx.db, this.sessionId), this.token, why)
  }
}
