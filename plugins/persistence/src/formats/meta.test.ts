import {describe, expect, it} from 'vitest'
import type {SessionRecord} from '../../../../src/session/types.ts'
import {compactMeta, isInjectedContext, shortTitle, TITLE_LENGTH, timeSpan, titleFromFirstUserMessage} from './meta.ts'

const user = (text: string, meta?: Record<string, unknown>): SessionRecord => ({type: 'message', role: 'user', parts: [{type: 'text', text}], ...(meta ? {meta} : {})})

describe('meta helpers', () => {
  it('tells injected context from typed text', () => {
    expect(isInjectedContext('<environment_context>\n  <cwd>/x</cwd>\n</environment_context>')).toBe(true)
    expect(isInjectedContext('<command-name>/clear</command-name>\n<command-args></command-args>')).toBe(true)
    expect(isInjectedContext('Fix the <div> layout')).toBe(false)
  })

  it('makes one-line titles of at most 80 characters', () => {
    expect(shortTitle('  Fix\n\nthe   bug ')).toBe('Fix the bug')
    expect(shortTitle('x'.repeat(200))).toHaveLength(TITLE_LENGTH)
    expect(shortTitle(' \n ')).toBeUndefined()
  })

  it('takes the title from the first message a person typed', () => {
    const records: SessionRecord[] = [{type: 'message', role: 'assistant', parts: [{type: 'text', text: 'Hi'}]}, user('<ctx>x</ctx>'), user('meta', {isMeta: true}), user('Real prompt')]
    expect(titleFromFirstUserMessage(records, (record) => record.meta?.isMeta === true)).toBe('Real prompt')
    expect(titleFromFirstUserMessage([])).toBeUndefined()
  })

  it('spans the timestamps of the records and drops absent fields', () => {
    expect(timeSpan([{...user('a'), ts: 5}, user('b'), {...user('c'), ts: 2}])).toEqual({createdAt: 2, lastActivityAt: 5})
    expect(compactMeta({title: 'x', model: undefined, ...timeSpan([])})).toEqual({title: 'x'})
  })
})
