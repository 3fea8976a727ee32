import ms from 'ms'
import {formatBytes} from '../../../src/cli/units.ts'
import type {RetentionPolicy, RetentionRule} from './policy.ts'

/** A live session as the retention planner sees it: index fields only. */
export interface Candidate {
  id: string
  name: string
  kind: string
  tags: readonly string[]
  /** Last activity recorded in the index, ms since the epoch. */
  lastActivityAt: number
  /** Bytes of content (see {@link RetentionPolicy}). */
  bytes: number
  /** Why it may never be collected (pinned, locked, in use by a live owner), or `null`. */
  protectedBy: string | null
}

/** A session the policy collects, or one it would have collected but must keep. */
export interface Decision {
  candidate: Candidate
  /** Every limit that condemns it, e.g. `last activity 40d ago, older than 30d (maxAge)`. */
  reasons: string[]
}

/** What the policy says of the live sessions. */
export interface RetentionPlan {
  /** Sessions to move to the trash, oldest activity first. */
  collect: Decision[]
  /** Sessions a limit condemns but that are kept, with why in `keptBy` (pinned, locked, in use, keepAtLeast). */
  kept: (Decision & {keptBy: string})[]
}

/**
 * Applies `policy` to `candidates` at time `now` (ms): a pure function of its inputs (see
 * {@link RetentionPolicy} for the rules). Ranking is by last activity, newest first, then by id
 * (ULIDs: newest created first) so that equal times rank the same way every run.
 */
export function planRetention(candidates: readonly Candidate[], policy: RetentionPolicy, now: number): RetentionPlan {
  const ranked = [...candidates].sort((a, b) => b.lastActivityAt - a.lastActivityAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  const reasons = new Map<string, string[]>()
  const keptByFloor = new Map<string, string>()
  const condemn = (candidate: Candidate, reason: string) => reasons.set(candidate.id, [...(reasons.get(candidate.id) ?? []), reason])

  const scopes: {label: string; rule: RetentionRule; members: Candidate[]}[] = [{label: 'store', members: ranked, rule: policy}]
  for (const [kind, rule] of Object.entries(policy.kinds ?? {})) scopes.push({label: `kind ${kind}`, members: ranked.filter((c) => c.kind === kind), rule})
  for (const [tag, rule] of Object.entries(policy.tags ?? {})) scopes.push({label: `tag ${tag}`, members: ranked.filter((c) => c.tags.includes(tag)), rule})

  for (const {label, members, rule} of scopes) {
    const where = label === 'store' ? '' : ` of ${label}`
    for (const member of members.slice(0, rule.keepAtLeast ?? 0)) {
      if (!keptByFloor.has(member.id)) keptByFloor.set(member.id, `among the newest ${rule.keepAtLeast} sessions${where} (keepAtLeast)`)
    }
    if (rule.maxSessions !== undefined) {
      for (const member of members.slice(rule.maxSessions)) condemn(member, `beyond the newest ${rule.maxSessions} sessions${where} (maxSessions)`)
    }
    if (rule.maxBytes !== undefined) {
      let total = 0
      for (const member of members) {
        total += member.bytes
        if (total > rule.maxBytes) condemn(member, `beyond the newest ${formatBytes(rule.maxBytes)} of sessions${where} (maxBytes)`)
      }
    }
  }

  for (const candidate of ranked) {
    const age = effectiveMaxAge(candidate, policy)
    if (age !== undefined && candidate.lastActivityAt < now - age.maxAge) {
      condemn(candidate, `last activity ${ms(Math.max(0, now - candidate.lastActivityAt))} ago, older than ${ms(age.maxAge)} (maxAge${age.label === 'store' ? '' : ` of ${age.label}`})`)
    }
  }

  const plan: RetentionPlan = {collect: [], kept: []}
  for (const candidate of [...ranked].reverse()) {
    const why = reasons.get(candidate.id)
    if (why === undefined) continue
    const keptBy = candidate.protectedBy ?? keptByFloor.get(candidate.id)
    if (keptBy === undefined) plan.collect.push({candidate, reasons: why})
    else plan.kept.push({candidate, keptBy, reasons: why})
  }
  return plan
}

/** The `maxAge` that applies to `candidate`: the longest of its tags' rules, else its kind's, else the store's. */
function effectiveMaxAge(candidate: Candidate, policy: RetentionPolicy): {maxAge: number; label: string} | undefined {
  let fromTags: {maxAge: number; label: string} | undefined
  for (const tag of candidate.tags) {
    const maxAge = ruleOf(policy.tags, tag)?.maxAge
    if (maxAge !== undefined && (fromTags === undefined || maxAge > fromTags.maxAge)) fromTags = {label: `tag ${tag}`, maxAge}
  }
  if (fromTags) return fromTags
  const kindAge = ruleOf(policy.kinds, candidate.kind)?.maxAge
  if (kindAge !== undefined) return {label: `kind ${candidate.kind}`, maxAge: kindAge}
  return policy.maxAge === undefined ? undefined : {label: 'store', maxAge: policy.maxAge}
}

/** The rule for `name` in `rules`, own properties only (a tag may be called `constructor`). */
function ruleOf(rules: Readonly<Record<string, RetentionRule>> | undefined, name: string): RetentionRule | undefined {
  return rules !== undefined && Object.hasOwn(rules, name) ? rules[name] : undefined
}
