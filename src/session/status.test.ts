import {describe, expect, it} from 'vitest'
import {InvalidTransitionError} from '../errors/index.ts'
import {assertTransition, SESSION_STATUSES, STATUS_TRANSITIONS} from './status.ts'

describe('session status state machine', () => {
  for (const from of SESSION_STATUSES) {
    for (const to of SESSION_STATUSES) {
      if (from === to) {
        it(`${from} → ${to} is a no-op`, () => expect(assertTransition(from, to)).toBe(false))
      } else if (STATUS_TRANSITIONS[from].includes(to)) {
        it(`${from} → ${to} is allowed`, () => expect(assertTransition(from, to)).toBe(true))
      } else {
        it(`${from} → ${to} is refused`, () => expect(() => assertTransition(from, to)).toThrow(InvalidTransitionError))
      }
    }
  }

  it('keeps terminated final and completed reopenable only to active', () => {
    expect(STATUS_TRANSITIONS.terminated).toEqual([])
    expect(STATUS_TRANSITIONS.completed).toEqual(['active'])
  })
})
