import {describe, expect, it} from 'vitest'
import {type Candidate, planRetention} from './plan.ts'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 21)

/** Session `n` (id and name from n), `days` old, of `kind`, with `tags`. */
function session(n: number, days: number, fields: Partial<Candidate> = {}): Candidate {
  return {bytes: 100, id: `ID${String(n).padStart(24, '0')}`, kind: 'chat', lastActivityAt: NOW - days * DAY, name: `s${n}`, protectedBy: null, tags: [], ...fields}
}

const names = (plan: ReturnType<typeof planRetention>) => plan.collect.map((d) => d.candidate.name)

describe('planRetention', () => {
  const sessions = [session(1, 40), session(2, 20), session(3, 10, {kind: 'terminal'}), session(4, 5, {kind: 'terminal', tags: ['keep']}), session(5, 1)]

  it('collects nothing without limits', () => {
    expect(planRetention(sessions, {}, NOW)).toEqual({collect: [], kept: []})
  })

  it('maxAge: older than the limit by last activity, oldest first', () => {
    const plan = planRetention(sessions, {maxAge: 8 * DAY}, NOW)
    expect(names(plan)).toEqual(['s1', 's2', 's3'])
    expect(plan.collect[0]!.reasons).toEqual(['last activity 40d ago, older than 8d (maxAge)'])
  })

  it('maxSessions and maxBytes keep the newest', () => {
    expect(names(planRetention(sessions, {maxSessions: 2}, NOW))).toEqual(['s1', 's2', 's3'])
    expect(names(planRetention(sessions, {maxBytes: 350}, NOW))).toEqual(['s1', 's2'])
    expect(names(planRetention(sessions, {maxBytes: 0}, NOW))).toEqual(['s1', 's2', 's3', 's4', 's5'])
  })

  it('keepAtLeast protects the newest of its scope from every limit, and says so', () => {
    const plan = planRetention(sessions, {keepAtLeast: 4, maxAge: 0}, NOW)
    expect(names(plan)).toEqual(['s1'])
    expect(plan.kept.map((d) => [d.candidate.name, d.keptBy])).toEqual([
      ['s2', 'among the newest 4 sessions (keepAtLeast)'],
      ['s3', 'among the newest 4 sessions (keepAtLeast)'],
      ['s4', 'among the newest 4 sessions (keepAtLeast)'],
      ['s5', 'among the newest 4 sessions (keepAtLeast)'],
    ])
  })

  it('a kind rule expires its sessions sooner; a tag rule keeps them longer', () => {
    const plan = planRetention(sessions, {kinds: {terminal: {maxAge: 3 * DAY}}, maxAge: 30 * DAY, tags: {keep: {maxAge: 100 * DAY}}}, NOW)
    expect(names(plan)).toEqual(['s1', 's3'])
    expect(plan.collect[1]!.reasons).toEqual(['last activity 10d ago, older than 3d (maxAge of kind terminal)'])
  })

  it('caps each scope on its own and names every limit that applies', () => {
    const plan = planRetention(sessions, {kinds: {terminal: {maxSessions: 1}}, maxSessions: 2}, NOW)
    expect(names(plan)).toEqual(['s1', 's2', 's3'])
    expect(plan.collect[2]!.reasons).toEqual(['beyond the newest 2 sessions (maxSessions)', 'beyond the newest 1 sessions of kind terminal (maxSessions)'])
  })

  it('never collects a protected session, which still counts towards the caps', () => {
    const guarded = sessions.map((s) => (s.name === 's5' || s.name === 's1' ? {...s, protectedBy: 'pinned'} : s))
    const plan = planRetention(guarded, {maxSessions: 1}, NOW)
    expect(names(plan)).toEqual(['s2', 's3', 's4'])
    expect(plan.kept.map((d) => [d.candidate.name, d.keptBy])).toEqual([['s1', 'pinned']])
  })

  it('ranks equal activity times by id, newest first, the same way every time', () => {
    const tied = [session(1, 2), session(2, 2), session(3, 2)]
    expect(names(planRetention(tied, {maxSessions: 1}, NOW))).toEqual(['s1', 's2'])
    expect(names(planRetention([...tied].reverse(), {maxSessions: 1}, NOW))).toEqual(['s1', 's2'])
  })
})
