import type {LockState} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import {staleReason} from './contention.ts'
import {holderOf, listLocks} from './table.ts'

/**
 * The locks of `sess lock status`: every held lock, or the lock of session `ref` held or not
 * (none if it was never locked), each with whether it is stale and why.
 *
 * @throws {NotFoundError} for an unknown `ref`.
 */
export async function lockStates(ctx: StoreContext, ref?: string): Promise<LockState[]> {
  const sessionId = ref === undefined ? undefined : (await ctx.row(ref)).id
  const rows = await listLocks(ctx, sessionId)
  return Promise.all(
    rows.map(async (row) => ({
      acquiredAt: Number(row.acquired_at),
      expiresAt: Number(row.expires_at),
      held: row.lease_id !== null,
      holder: holderOf(row),
      name: row.name,
      releasedAt: row.released_at === null ? null : Number(row.released_at),
      renewedAt: Number(row.renewed_at),
      sessionId: row.session_id,
      stale: await staleReason(ctx, row),
      token: Number(row.token),
      ttl: Number(row.ttl_ms),
    })),
  )
}
