import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {redactText} from './redact.ts'
import {RULES} from './rules.ts'
import {LOOK_ALIKES, SECRET_ARBITRARIES} from './testing.ts'

/** Realistic lines around a credential: a shell session, a .env file, a JSON config, prose. */
const CONTEXTS: readonly [string, string][] = [
  ['$ curl https://api.example.com -d @body.json # ', ' (from the docs)'],
  ['# .env\n', '\nDEBUG=false\n'],
  ['{"config": {"value": "', '"}}'],
  ['Here is what I found in the log: ', ' and it must be rotated'],
]

describe('the rules', () => {
  it('are named once each, and each pattern has one capturing group (the secret)', () => {
    expect(new Set(RULES.map((rule) => rule.name)).size).toBe(RULES.length)
    for (const rule of RULES) expect(new RegExp(`${rule.pattern}|`).exec('')!.length, rule.name).toBe(2)
    expect(Object.keys(SECRET_ARBITRARIES).sort()).toEqual(RULES.map((rule) => rule.name).sort())
    expect(Object.keys(LOOK_ALIKES).sort()).toEqual(RULES.map((rule) => rule.name).sort())
  })

  describe.each(RULES.map((rule) => rule.name))('%s', (name) => {
    it('masks generated credentials of its shape in realistic text, keeping the text around them', () => {
      const samples = fc.sample(SECRET_ARBITRARIES[name]!, {numRuns: 20, seed: 7})
      for (const [index, sample] of samples.entries()) {
        const [before, after] = CONTEXTS[index % CONTEXTS.length]!
        const json = before.startsWith('{')
        const text = json ? JSON.stringify(sample.text).slice(1, -1) : sample.text
        const masked = json ? JSON.stringify(sample.masked).slice(1, -1) : sample.masked
        const result = redactText(`${before}${text}${after}`)
        expect(result.text, sample.text).toBe(`${before}${masked}${after}`)
        expect(result.counts).toEqual({[name]: 1})
        expect(result.text).not.toContain(sample.secret)
      }
    })

    it('leaves look-alikes that are not credentials alone', () => {
      for (const text of LOOK_ALIKES[name]!) {
        for (const [before, after] of CONTEXTS) {
          const result = redactText(`${before}${text}${after}`)
          expect(result.counts, text).toEqual({})
          expect(result.text).toBe(`${before}${text}${after}`)
        }
      }
    })
  })

  it('picks the more specific rule where two could match: sk-ant- is anthropic, not openai', () => {
    const [anthropic] = fc.sample(SECRET_ARBITRARIES.anthropic!, {numRuns: 1, seed: 1})
    expect(redactText(anthropic!.text).counts).toEqual({anthropic: 1})
  })

  it('counts a credential once, under the rule whose match starts first', () => {
    const [github] = fc.sample(SECRET_ARBITRARIES.github!, {numRuns: 1, seed: 3})
    expect(redactText(`export GITHUB_TOKEN=${github!.text}`)).toEqual({counts: {'env-secret': 1}, text: 'export GITHUB_TOKEN=[REDACTED:env-secret]'})
    expect(redactText(`token ${github!.text} and ${github!.text}`)).toEqual({counts: {github: 2}, text: 'token [REDACTED:github] and [REDACTED:github]'})
  })

  it('does not recognise a token glued to a word, but does one after a JSON escape', () => {
    const [key] = fc.sample(SECRET_ARBITRARIES['aws-access-key-id']!, {numRuns: 1, seed: 5})
    expect(redactText(`x${key!.text}`).counts).toEqual({})
    expect(redactText(String.raw`line\n${key!.text}\tnext`)).toEqual({counts: {'aws-access-key-id': 1}, text: String.raw`line\n[REDACTED:aws-access-key-id]\tnext`})
  })
})
