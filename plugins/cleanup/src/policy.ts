import {InvalidInputError} from '../../../src/errors/index.ts'

/** Default grace period of the trash and of the quarantine, ms: 7 days. */
export const DEFAULT_TRASH_GRACE = 7 * 86_400_000

/**
 * Default idle time after which gc compresses a session's blobs, ms: 7 days. A session untouched
 * for a week is rarely resumed soon, and when it is, reading it back costs one decompression
 * (milliseconds) while appending to it is unchanged.
 */
export const DEFAULT_COMPRESS_AFTER = 7 * 86_400_000

/**
 * Limits of one scope of a {@link RetentionPolicy}: the whole store, the sessions of one kind, or
 * those with one tag. Every field is optional; an absent one does not limit. Sessions are ranked
 * by their last activity as the index records it (never a file's mtime), newest first.
 */
export interface RetentionRule {
  /** Collect sessions whose last activity is older than this, ms. See {@link RetentionPolicy} for which scope's applies. */
  maxAge?: number
  /** Keep the newest this many sessions of the scope; collect the older ones. */
  maxSessions?: number
  /** Keep the newest sessions of the scope while their bytes add up to at most this; collect the rest. */
  maxBytes?: number
  /** The newest this many sessions of the scope are never collected, whatever any limit says. */
  keepAtLeast?: number
}

/**
 * What `store.gc()` keeps and what it moves to the trash (DESIGN §3 `sess gc`).
 *
 * - The top-level limits apply to the whole store; `kinds` and `tags` hold rules for the sessions
 *   of one kind or with one tag.
 * - `maxSessions` and `maxBytes` cap each scope that sets them, independently: a session is
 *   collected when any scope it belongs to has no room for it.
 * - `maxAge` is per session, from its most specific scope: the longest `maxAge` among the rules of
 *   its tags, else its kind's rule, else the store's. So a tag rule can keep sessions longer than
 *   the store's rule, and a kind rule can expire them sooner.
 * - `keepAtLeast` protects the newest N sessions of its scope from every limit.
 * - Never collected, whatever the limits: pinned sessions (`store.pin`, and `pinned` here), a
 *   session whose lock is held by a live lease, and an `active`, `processing` or
 *   `waiting_for_input` session whose owner process is not provably dead. They still count
 *   towards `maxSessions` and `maxBytes`.
 *
 * A session's bytes are what the index counts as its content: all saved versions of its original
 * (or, for a session recorded natively, its transcript), its output buffer and its snapshots.
 */
export interface RetentionPolicy extends RetentionRule {
  /** Rules for the sessions of a kind (`chat`, `agent`, `terminal`, …), by kind. */
  kinds?: Readonly<Record<string, RetentionRule>>
  /** Rules for the sessions with a tag, by tag. */
  tags?: Readonly<Record<string, RetentionRule>>
  /** Ids or names of sessions to keep in this run, besides the pinned ones. */
  pinned?: readonly string[]
  /** How long a session stays in the trash (and a file in the quarantine) before gc deletes it, ms; default {@link DEFAULT_TRASH_GRACE}. */
  trashGrace?: number
  /**
   * Compress the blobs (saved originals, snapshots) of sessions whose last activity is older than
   * this, ms; default {@link DEFAULT_COMPRESS_AFTER}; `null`: never. Not a retention limit:
   * nothing is removed, and pinned sessions are compressed too (not sessions in use, nor those in
   * the trash).
   */
  compressAfter?: number | null
}

const RULE_FIELDS = ['maxAge', 'maxSessions', 'maxBytes', 'keepAtLeast'] as const

/**
 * Checks a policy given in code or read from the config file.
 *
 * @returns the same policy.
 * @throws {InvalidInputError} naming the field, for a value that is not a whole number ≥ 0 (or an unknown field).
 */
export function assertPolicy(policy: RetentionPolicy): RetentionPolicy {
  if (policy === null || typeof policy !== 'object') throw new InvalidInputError('A retention policy must be an object.')
  const known = new Set<string>([...RULE_FIELDS, 'kinds', 'tags', 'pinned', 'trashGrace', 'compressAfter'])
  for (const key of Object.keys(policy)) if (!known.has(key)) throw new InvalidInputError(`Unknown retention policy field ${JSON.stringify(key)}.`, {hint: `Known: ${[...known].join(', ')}.`})
  assertRule('policy', policy)
  if (policy.trashGrace !== undefined) assertAmount('policy.trashGrace', policy.trashGrace)
  if (policy.compressAfter !== undefined && policy.compressAfter !== null) assertAmount('policy.compressAfter', policy.compressAfter)
  for (const scope of ['kinds', 'tags'] as const) {
    const rules = policy[scope]
    if (rules === undefined) continue
    if (rules === null || typeof rules !== 'object') throw new InvalidInputError(`policy.${scope} must map names to rules.`)
    for (const [name, rule] of Object.entries(rules)) {
      if (rule === null || typeof rule !== 'object') throw new InvalidInputError(`policy.${scope}.${name} must be a rule object.`)
      for (const key of Object.keys(rule)) {
        if (!(RULE_FIELDS as readonly string[]).includes(key)) throw new InvalidInputError(`Unknown field ${JSON.stringify(key)} in policy.${scope}.${name}.`, {hint: `Known: ${RULE_FIELDS.join(', ')}.`})
      }
      assertRule(`policy.${scope}.${name}`, rule)
    }
  }
  if (policy.pinned !== undefined && (!Array.isArray(policy.pinned) || policy.pinned.some((ref) => typeof ref !== 'string'))) {
    throw new InvalidInputError('policy.pinned must be a list of session ids or names.')
  }
  return policy
}

/** Whether the policy sets any limit at all (without one, gc only empties the trash and cleans litter). */
export function hasLimits(policy: RetentionPolicy): boolean {
  const rules = [policy, ...Object.values(policy.kinds ?? {}), ...Object.values(policy.tags ?? {})]
  return rules.some((rule) => rule.maxAge !== undefined || rule.maxSessions !== undefined || rule.maxBytes !== undefined)
}

function assertRule(where: string, rule: RetentionRule): void {
  for (const field of RULE_FIELDS) if (rule[field] !== undefined) assertAmount(`${where}.${field}`, rule[field])
}

function assertAmount(where: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(`${where} must be a whole number ≥ 0, not ${JSON.stringify(value)}.`, {hint: 'Ages are ms, sizes bytes, counts sessions.'})
  }
}
