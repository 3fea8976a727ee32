import ms from 'ms'
import type {LockHolder} from '../session/types.ts'
import {holderOf, type LockRow} from './table.ts'

/** `pid 4242 on host build-7`: a lock holder in a message. */
export function describeHolder(holder: LockHolder | LockRow): string {
  const {host, pid} = 'session_id' in holder ? holderOf(holder) : holder
  return `pid ${pid} on host ${host}`
}

/** `held for 3s, lease expires in 27s`: the age and lease of a held lock, at `now`. */
export function describeLease(row: LockRow, now: number): string {
  const expiresIn = Number(row.expires_at) - now
  const lease = expiresIn > 0 ? `lease expires in ${ms(expiresIn)}` : `lease expired ${ms(-expiresIn)} ago`
  return `held for ${ms(Math.max(0, now - Number(row.acquired_at)))}, ${lease}`
}
