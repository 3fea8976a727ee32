import {InvalidInputError} from '../errors/index.ts'

/** Default lease length, ms: a holder that stops renewing (stopped, hung, on a lost host) loses the lock after it. */
export const DEFAULT_LEASE_TTL = 30_000

/** Shortest lease, ms: renewals every `ttl / 3` must fit between event-loop stalls. */
export const MIN_LEASE_TTL = 100

/** Longest lease or wait, ms (a day). */
const MAX_MS = 86_400_000

/** @throws {InvalidInputError} unless `ttl` is a whole number of ms from {@link MIN_LEASE_TTL} to a day. */
export function checkTtl(ttl: number): number {
  return checkMs('ttl', ttl, MIN_LEASE_TTL)
}

/** @throws {InvalidInputError} unless `wait` is a whole number of ms from 0 to a day. */
export function checkWait(wait: number): number {
  return checkMs('wait', wait, 0)
}

function checkMs(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > MAX_MS) {
    throw new InvalidInputError(`A lock's ${name} must be a whole number of milliseconds from ${min} to ${MAX_MS}, not ${value}.`, {
      hint: name === 'ttl' ? 'Give a TTL such as 30s or 5m.' : 'Give a wait such as 0 (fail at once), 10s or 2m.',
    })
  }
  return value
}
