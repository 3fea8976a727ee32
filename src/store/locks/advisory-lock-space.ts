import pg from 'pg'
import {StorageError} from '../../errors/index.ts'
import {ADVISORY_KEYS, CONNECT_TIMEOUT_MS, connectionFailure, connectionLost, isConnectionLoss} from '../../db/postgres.ts'
import type {HeldLock, LockSpace, StoreLockName} from './lock-space.ts'

/** What this process holds of one lock: how many shared grants, or the exclusive one. */
interface Held {
  shared: number
  exclusive: boolean
}

/**
 * The store-wide locks of a store shared on PostgreSQL: session-level advisory locks
 * (`pg_try_advisory_lock` / `pg_try_advisory_lock_shared` on {@link ADVISORY_KEYS}, see
 * https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS), so that every
 * machine sharing the store sees them. They are held on one dedicated connection of this store,
 * opened on first use: the server releases them when that connection ends (the process died, the
 * network was cut), as the kernel drops a flock when its process dies.
 *
 * A session's own advisory locks never conflict with each other (they are re-entrant), so this
 * space also keeps what this process holds and refuses a request that conflicts with it (an
 * exclusive lock while anything is held here, anything while the exclusive one is): two holders
 * in one process conflict as two processes do, as with flock.
 *
 * When the connection is lost, its locks are gone on the server; the next request opens a new one.
 */
export class AdvisoryLockSpace implements LockSpace {
  readonly #url: string
  readonly #held = new Map<StoreLockName, Held>()
  /** Unlocks sent and not yet answered: {@link close} waits for them. */
  readonly #unlocking = new Set<Promise<unknown>>()
  #client: Promise<pg.Client> | undefined
  #closed = false

  /** @param url the `postgres://` URL of the store's database (connected to on first use). */
  constructor(url: string) {
    this.#url = url
  }

  async tryLock(name: StoreLockName, mode: {shared: boolean}): Promise<HeldLock | undefined> {
    if (this.#closed) throw new StorageError('The store is closed.', {hint: 'Open it again with openStore().'})
    const held = this.#held.get(name) ?? {exclusive: false, shared: 0}
    if (held.exclusive || (!mode.shared && held.shared > 0)) return undefined
    // Claimed before the round trip, so that a request of this process meanwhile sees it.
    if (mode.shared) held.shared++
    else held.exclusive = true
    this.#held.set(name, held)
    const unclaim = () => {
      if (mode.shared) held.shared--
      else held.exclusive = false
    }
    const suffix = mode.shared ? '_shared' : ''
    let client: pg.Client
    try {
      client = await this.#connection()
    } catch (error) {
      unclaim()
      throw connectionFailure(error, this.#url)
    }
    try {
      const {rows} = await client.query<{granted: boolean}>(`select pg_try_advisory_lock${suffix}($1) as granted`, [ADVISORY_KEYS[name]])
      if (rows[0]?.granted !== true) {
        unclaim()
        return undefined
      }
    } catch (error) {
      unclaim()
      if (isConnectionLoss(error)) throw connectionLost(error, this.#url)
      throw new StorageError(`Cannot take the store's ${name} lock in PostgreSQL: ${(error as Error).message}`, {cause: error, hint: 'Check that the database user may call pg_try_advisory_lock.'})
    }
    let open = true
    const release = () => {
      if (!open) return
      open = false
      unclaim()
      // A connection that is gone has released the lock already: its failure is no error.
      const unlock = client.query(`select pg_advisory_unlock${suffix}($1)`, [ADVISORY_KEYS[name]]).catch(() => undefined)
      this.#unlocking.add(unlock)
      void unlock.finally(() => this.#unlocking.delete(unlock))
    }
    return {release, [Symbol.dispose]: release}
  }

  /** Waits for pending unlocks, then ends the connection (which releases anything still held). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.allSettled([...this.#unlocking])
    const client = await this.#client?.catch(() => undefined)
    await client?.end().catch(() => undefined)
  }

  /** The dedicated connection, opened when first needed and again after it was lost. */
  #connection(): Promise<pg.Client> {
    if (this.#client !== undefined) return this.#client
    const client = new pg.Client({application_name: 'sess locks', connectionString: this.#url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS})
    const connecting = client.connect().then(() => client)
    const forget = () => {
      if (this.#client === connecting) this.#client = undefined
    }
    // A connection the server closes emits 'error' (and 'end'): its locks are gone, the next request reconnects.
    client.on('error', forget)
    client.on('end', forget)
    connecting.catch(forget)
    this.#client = connecting
    return connecting
  }
}
