import {type Kysely, type Selectable, sql, type UpdateQueryBuilder, type UpdateResult} from 'kysely'
import type {Database, LocksTable} from '../db/schema.ts'
import type {LockHolder} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import type {LeaseRef} from './token.ts'

/**
 * The `locks` table: every statement sess runs on it. Each write is one statement, so it is atomic
 * on its own; a takeover is a compare-and-swap on the row exactly as it was read, so that of two
 * processes taking over the same stale lock only one can win.
 *
 * On PostgreSQL (READ COMMITTED) a statement that waits for a row lock re-checks its conditions on
 * the row as committed, so a grant (an upsert whose update needs `lease_id is null`) and a
 * compare-and-swap keep that guarantee. Writes to a session and new leases on its lock are ordered
 * as on SQLite, where both need the database's one write lock: a write transaction locks the
 * session's row before its fencing check ({@link readLockForWrite}) and a grant or takeover takes
 * that row `FOR SHARE`, so it waits for a write in progress to commit. The next holder thus reads
 * every write made under the lease before it; none lands after its grant.
 */

/** A row of `locks`. */
export type LockRow = Selectable<LocksTable>

/** What a grant writes: the new lease. */
export interface Grant {
  leaseId: string
  holder: LockHolder
  /** ms since the epoch. */
  now: number
  /** Lease length, ms. */
  ttl: number
}

/** The lock row of `sessionId`, read on `executor` (the database, a transaction or a connection). */
export async function readLock(ctx: StoreContext, executor: Kysely<Database>, sessionId: string): Promise<LockRow | undefined> {
  const result = await ctx.prepared.execute(executor, 'lock.read', (param) => executor.selectFrom('locks').selectAll().where('session_id', '=', param('id')), {id: sessionId})
  return result.rows[0]
}

/**
 * The lock row of `sessionId` as a write transaction `trx` sees it before it writes to the session
 * (see `checkFence`). On PostgreSQL the session's row is locked too (`FOR NO KEY UPDATE`, the lock
 * an update of its counters takes anyway), until `trx` ends: grants and takeovers of its lock wait
 * for the write (see the top of this file). SQLite's write transaction holds the whole database.
 */
export async function readLockForWrite(ctx: StoreContext, trx: Kysely<Database>, sessionId: string): Promise<LockRow | undefined> {
  if (ctx.dialect === 'sqlite') return readLock(ctx, trx, sessionId)
  const result = await ctx.prepared.execute(
    trx,
    'lock.read.write',
    (param) => trx.selectFrom('sessions').leftJoin('locks', 'locks.session_id', 'sessions.id').selectAll('locks').where('sessions.id', '=', param('id')).forNoKeyUpdate('sessions'),
    {id: sessionId},
  )
  const row = result.rows[0]
  return row?.session_id ? (row as LockRow) : undefined
}

/**
 * Grants the lock of the live session `ref` (by id or by name) if it is free (never locked, or
 * released): one upsert, whose `INSERT … SELECT` also resolves `ref`.
 *
 * @returns the session's id and the new fencing token, or `undefined` when there is no such live
 *   session or a lease holds its lock (expired or not).
 */
export async function grantIfFree(
  ctx: StoreContext,
  executor: Kysely<Database>,
  ref: {id: string} | {name: string},
  grant: Grant,
): Promise<{sessionId: string; token: number} | undefined> {
  const column = 'id' in ref ? 'id' : 'name'
  const result = await ctx.prepared.execute(
    executor,
    `lock.grant.${column}`,
    (param) => {
      const lease = leaseColumns(param)
      const columns = Object.keys(lease) as (keyof typeof lease)[]
      return executor
        .insertInto('locks')
        .columns(['session_id', 'token', ...columns])
        .expression((eb) =>
          eb
            .selectFrom('sessions')
            .select(['id', eb.lit(1).as('token'), ...columns.map((name) => eb.val(lease[name]).as(name))])
            .where(column, '=', param('ref'))
            .where('trashed_at', 'is', null)
            .$if(ctx.dialect === 'postgres', (query) => query.forShare()),
        )
        .onConflict((conflict) =>
          conflict
            .column('session_id')
            .doUpdateSet((eb) => ({...lease, token: eb('locks.token', '+', 1)}))
            .where('locks.lease_id', 'is', null),
        )
        .returning(['session_id', 'token'])
    },
    {ref: 'id' in ref ? ref.id : ref.name, ...grantValues(grant)},
  )
  const row = result.rows[0]
  return row ? {sessionId: row.session_id, token: Number(row.token)} : undefined
}

/**
 * Replaces lease `seen` (a row as read, judged stale) with `grant`, or with no lease at all when
 * `grant` is `null` (the lock cleared for a writer that holds none). Either way the token rises.
 * Only succeeds if the row is unchanged since it was read: same token, lease and expiry.
 *
 * @returns the new fencing token, or `undefined` when the row changed meanwhile (someone else won).
 */
export async function takeOver(ctx: StoreContext, executor: Kysely<Database>, seen: LockRow, grant: Grant | null, now: number): Promise<number | undefined> {
  const unchanged = {seenExpires: seen.expires_at, seenLease: seen.lease_id ?? '', seenToken: seen.token, id: seen.session_id}
  const result =
    grant === null
      ? await ctx.prepared.execute(
          executor,
          'lock.clear',
          (param) => whereUnchanged(ctx, executor.updateTable('locks').set((eb) => ({lease_id: null, released_at: param('now'), token: eb('token', '+', 1)})), param).returning('token'),
          {...unchanged, now},
        )
      : await ctx.prepared.execute(
          executor,
          'lock.takeover',
          (param) => whereUnchanged(ctx, executor.updateTable('locks').set((eb) => ({...leaseColumns(param), token: eb('token', '+', 1)})), param).returning('token'),
          {...unchanged, ...grantValues(grant)},
        )
  const row = result.rows[0]
  return row ? Number(row.token) : undefined
}

/**
 * Extends lease `lease` to `now + ttl` if it still holds the lock and has not expired.
 *
 * @returns `true` when renewed; `false` when the lease is lost (released, expired or taken over).
 */
export async function renewLease(ctx: StoreContext, executor: Kysely<Database>, lease: LeaseRef, now: number, ttl: number): Promise<boolean> {
  const result = await ctx.prepared.execute(
    executor,
    'lock.renew',
    (param) =>
      executor
        .updateTable('locks')
        .set({expires_at: param('expires'), renewed_at: param('now'), ttl_ms: param('ttl')})
        .where('session_id', '=', param('id'))
        .where('token', '=', param('token'))
        .where('lease_id', '=', param('lease'))
        .where('expires_at', '>', param('now')),
    {expires: now + ttl, id: lease.sessionId, lease: lease.leaseId, now, token: lease.token, ttl},
  )
  return Number(result.numAffectedRows ?? 0) === 1
}

/**
 * Releases lease `lease` if it still holds the lock (an expired lease nobody took over counts:
 * releasing it frees the lock early).
 *
 * @returns `true` when released now; `false` when it no longer held the lock.
 */
export async function releaseLease(ctx: StoreContext, executor: Kysely<Database>, lease: LeaseRef, now: number): Promise<boolean> {
  const result = await ctx.prepared.execute(
    executor,
    'lock.release',
    (param) =>
      executor
        .updateTable('locks')
        .set({lease_id: null, released_at: param('now')})
        .where('session_id', '=', param('id'))
        .where('token', '=', param('token'))
        .where('lease_id', '=', param('lease')),
    {id: lease.sessionId, lease: lease.leaseId, now, token: lease.token},
  )
  return Number(result.numAffectedRows ?? 0) === 1
}

/** Lock rows joined with their live session's name: all held ones, or that of `sessionId` (held or not). */
export async function listLocks(ctx: StoreContext, sessionId?: string): Promise<(LockRow & {name: string})[]> {
  return ctx.db
    .selectFrom('locks')
    .innerJoin('sessions', 'sessions.id', 'locks.session_id')
    .selectAll('locks')
    .select('sessions.name')
    .where('sessions.trashed_at', 'is', null)
    .$call((query) => (sessionId === undefined ? query.where('locks.lease_id', 'is not', null) : query.where('locks.session_id', '=', sessionId)))
    .orderBy('locks.acquired_at')
    .execute()
}

/** The holder recorded in a lock row. */
export function holderOf(row: LockRow): LockHolder {
  return {bootId: row.holder_boot_id, host: row.holder_host, pid: Number(row.holder_pid), startTime: row.holder_start_time}
}

function grantValues(grant: Grant): Record<string, unknown> {
  const {holder, leaseId, now, ttl} = grant
  return {boot: holder.bootId, expires: now + ttl, host: holder.host, lease: leaseId, now, pid: holder.pid, start: holder.startTime, ttl}
}

/**
 * Narrows an update of `locks` to the row as it was read (`seen*` parameters); the lease compared
 * through `coalesce`, portable for a null. On PostgreSQL it also takes the session's row `FOR
 * SHARE`, waiting for a write in progress (see the top of this file).
 */
function whereUnchanged<Q extends UpdateQueryBuilder<Database, 'locks', 'locks', UpdateResult>>(ctx: StoreContext, query: Q, param: (name: string) => never): Q {
  return query
    .where('session_id', '=', param('id'))
    .where('token', '=', param('seenToken'))
    .where('expires_at', '=', param('seenExpires'))
    .where((eb) => eb(eb.fn.coalesce('lease_id', sql.lit('')), '=', param('seenLease')))
    .$if(ctx.dialect === 'postgres', (update) => update.where((eb) => eb.exists(eb.selectFrom('sessions').select('sessions.id').whereRef('sessions.id', '=', 'locks.session_id').forShare()))) as Q
}

/** The columns a grant sets (besides the session and the token), each bound to a parameter of {@link grantValues}. */
function leaseColumns(param: (name: string) => never) {
  return {
    acquired_at: param('now'),
    expires_at: param('expires'),
    holder_boot_id: param('boot'),
    holder_host: param('host'),
    holder_pid: param('pid'),
    holder_start_time: param('start'),
    lease_id: param('lease'),
    released_at: null as never,
    renewed_at: param('now'),
    ttl_ms: param('ttl'),
  }
}
