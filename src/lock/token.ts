import {randomBytes} from 'node:crypto'
import {InvalidInputError} from '../errors/index.ts'

/** What a lease token names: a session, the fencing token of one grant, and that grant's secret. */
export interface LeaseRef {
  sessionId: string
  /** Fencing token of the grant. */
  token: number
  /** The grant's secret: 32 hex digits, random per grant. */
  leaseId: string
}

const TOKEN = /^([0-9A-HJKMNP-TV-Z]{26})\.([1-9][0-9]{0,15})\.([0-9a-f]{32})$/

/** A fresh lease secret: 16 random bytes as 32 hex digits. */
export function newLeaseId(): string {
  return randomBytes(16).toString('hex')
}

/**
 * The printable form of a lease (what `sess lock acquire` prints and `SESS_LOCK_TOKEN` holds):
 * `<session id>.<fencing token>.<secret>`, e.g. `01JD2Q…5Z.7.9f1c…e2`. Shell-safe: no quoting needed.
 */
export function formatLeaseToken(ref: LeaseRef): string {
  return `${ref.sessionId}.${ref.token}.${ref.leaseId}`
}

/**
 * Parses a printed lease token (see {@link formatLeaseToken}).
 *
 * @throws {InvalidInputError} when `text` is not one (exit 2).
 */
export function parseLeaseToken(text: string, source = 'The lease token'): LeaseRef {
  const match = TOKEN.exec(text.trim())
  if (!match) {
    throw new InvalidInputError(`${source} ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} is not a sess lease token.`, {
      hint: 'Use the token `sess lock acquire` printed (session id, fencing token and secret, separated by dots).',
    })
  }
  return {leaseId: match[3]!, sessionId: match[1]!, token: Number(match[2])}
}
