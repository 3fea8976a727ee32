import type {Session} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import {setSessionStatus} from '../store/sessions.ts'

/** The statuses the idle timeout pauses: a session there with no activity is idle. (`processing` is left alone: a long tool call may write nothing for a while.) */
const IDLE_STATUSES = ['active', 'waiting_for_input'] as const

/**
 * Pauses every live `active` or `waiting_for_input` session whose last activity is older than
 * `timeout` ms (`sessions.idleTimeout`), through the state machine (`session.status_changed`,
 * from → `paused`). A session whose lock is held is in use and left alone. Each session's
 * idleness is checked again inside the transaction that pauses it, so a session that was just
 * written to is not paused; its last activity is kept as it was.
 *
 * @returns the sessions paused now.
 */
export async function pauseIdleSessions(ctx: StoreContext, timeout: number | null): Promise<Session[]> {
  if (timeout === null) return []
  const cutoff = ctx.now() - timeout
  const candidates = await ctx.db
    .selectFrom('sessions')
    .select('id')
    .where('trashed_at', 'is', null)
    .where('status', 'in', IDLE_STATUSES)
    .where('last_activity_at', '<', cutoff)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('locks').select('locks.session_id').whereRef('locks.session_id', '=', 'sessions.id').where('locks.lease_id', 'is not', null))))
    .execute()
  const paused: Session[] = []
  for (const {id} of candidates) {
    const changed = await setSessionStatus(ctx, id, 'paused', {
      touch: false,
      within: async (_trx, row) => row.trashed_at === null && (IDLE_STATUSES as readonly string[]).includes(row.status) && Number(row.last_activity_at) < cutoff,
    })
    if (changed.status === 'paused') paused.push(changed)
  }
  return paused
}
