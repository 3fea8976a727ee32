import {InvalidTransitionError} from '../errors/index.ts'

/** Every status a session can be in (DESIGN §2). */
export const SESSION_STATUSES = ['active', 'waiting_for_input', 'processing', 'paused', 'completed', 'terminated'] as const

/** A session's status. */
export type SessionStatus = (typeof SESSION_STATUSES)[number]

/**
 * The one state machine of session status. Keys are the current status, values the statuses it may
 * move to. `terminated` is final; `completed` may only be reopened (`active`), as when a finished
 * chat is resumed. Setting the status a session already has is a no-op, not a transition.
 */
export const STATUS_TRANSITIONS: Readonly<Record<SessionStatus, readonly SessionStatus[]>> = {
  active: ['waiting_for_input', 'processing', 'paused', 'completed', 'terminated'],
  waiting_for_input: ['active', 'processing', 'paused', 'completed', 'terminated'],
  processing: ['active', 'waiting_for_input', 'paused', 'completed', 'terminated'],
  paused: ['active', 'completed', 'terminated'],
  completed: ['active'],
  terminated: [],
}

/** The statuses of a session in use: counted against `sessions.maxActive`, and never collected by gc while their owner may be alive. */
export const IN_USE_STATUSES: ReadonlySet<string> = new Set<SessionStatus>(['active', 'waiting_for_input', 'processing'])

/** Whether `value` names a status. */
export function isSessionStatus(value: string): value is SessionStatus {
  return (SESSION_STATUSES as readonly string[]).includes(value)
}

/**
 * Checks a status change against {@link STATUS_TRANSITIONS}.
 *
 * @returns `false` when `from === to` (nothing to do), `true` when the move is allowed.
 * @throws {InvalidTransitionError} when the move is not allowed.
 * @example
 * ```ts
 * assertTransition('active', 'paused') // true
 * assertTransition('terminated', 'active') // throws InvalidTransitionError
 * ```
 */
export function assertTransition(from: SessionStatus, to: SessionStatus): boolean {
  if (from === to) return false
  if (STATUS_TRANSITIONS[from].includes(to)) return true
  const allowed = STATUS_TRANSITIONS[from]
  throw new InvalidTransitionError(`A session cannot go from ${from} to ${to}.`, {
    hint: allowed.length > 0 ? `From ${from} it may go to: ${allowed.join(', ')}.` : `${from} is final; fork the session to continue it.`,
  })
}
