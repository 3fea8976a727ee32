import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {redactBytes, redactText} from './redact.ts'
import {LOOK_ALIKES, nearMatches, oneOfEachRule, plainText, secretSample, separator} from './testing.ts'

const ALL_LOOK_ALIKES = Object.values(LOOK_ALIKES).flat()

/** A piece of a generated document: text without any rule's literal, a look-alike, or a credential. */
type Piece = {text: string; masked: string; rule?: string}

const innocent: fc.Arbitrary<Piece> = fc.oneof(plainText, fc.constantFrom(...ALL_LOOK_ALIKES)).map((text) => ({masked: text, text}))
const credential: fc.Arbitrary<Piece> = secretSample.map((sample) => ({masked: sample.masked, rule: sample.rule, text: sample.text}))

/** Up to 12 pieces joined by separators: the text, what it must become, and how many credentials of each rule it holds. */
function documents(pieces: fc.Arbitrary<Piece>) {
  return fc.tuple(fc.array(pieces, {maxLength: 12}), fc.array(separator, {maxLength: 12, minLength: 12})).map(([parts, separators]) => {
    const join = (field: 'text' | 'masked') => parts.map((p, i) => (i === 0 ? '' : separators[i - 1]) + p[field]).join('')
    const counts: Record<string, number> = {}
    for (const p of parts) if (p.rule) counts[p.rule] = (counts[p.rule] ?? 0) + 1
    return {counts, masked: join('masked'), text: join('text')}
  })
}

const encoder = new TextEncoder()

describe('redactText', () => {
  it('masks every generated credential, exactly, in plain text and inside JSON strings, and counts them by rule', () => {
    fc.assert(
      fc.property(documents(fc.oneof(innocent, credential)), (doc) => {
        expect(redactText(doc.text)).toEqual({counts: doc.counts, text: doc.masked})
        const json = redactText(JSON.stringify({text: doc.text}))
        expect(json).toEqual({counts: doc.counts, text: JSON.stringify({text: doc.masked})})
        expect(JSON.parse(json.text)).toEqual({text: doc.masked})
      }),
      {numRuns: 300},
    )
  })

  it('never changes text in which no rule finds a credential (any characters, look-alikes)', () => {
    fc.assert(
      fc.property(documents(innocent), (doc) => {
        expect(redactText(doc.text)).toEqual({counts: {}, text: doc.text})
        expect(redactText(JSON.stringify(doc.text)).text).toBe(JSON.stringify(doc.text))
      }),
      {numRuns: 300},
    )
  })

  it('keeps a JSONL line valid when a credential sits next to escapes, and masks none of them', () => {
    for (const sample of oneOfEachRule()) {
      const line = JSON.stringify({content: `quote " backslash \\ tab \t é ${sample.text}\n"${sample.text}"\\${sample.text}`, type: 'user'})
      const result = redactText(line)
      expect(result.counts[sample.rule], sample.text).toBeGreaterThanOrEqual(2)
      const parsed = JSON.parse(result.text) as {content: string}
      expect(parsed.content).toContain('quote " backslash \\ tab \t é ')
      expect(parsed.content).not.toContain(sample.secret)
    }
  })

  it('completes on 10 MiB of near-matches of every rule (its patterns are linear by construction)', () => {
    const text = nearMatches(10 * 1024 * 1024)
    expect(text.length).toBeGreaterThan(10 * 1024 * 1024)
    const result = redactText(text)
    // Only the run of `password=` holds an assignment of a secret (see NEAR_MATCHES).
    expect(result.counts).toEqual({'env-secret': 1})
  })
})

describe('redactBytes', () => {
  it('keeps every byte outside a credential, invalid UTF-8 included', () => {
    const [sample] = oneOfEachRule().filter((s) => s.rule === 'openai')
    const invalid = new Uint8Array([0xff, 0xfe, 0x80, 0xc3, 0x28, 0xe2, 0x82])
    const input = new Uint8Array([...invalid, ...encoder.encode(` é ${sample!.text} `), ...invalid])
    const result = redactBytes(input)
    expect(result.counts).toEqual({openai: 1})
    expect([...result.bytes]).toEqual([...invalid, ...encoder.encode(' é [REDACTED:openai] '), ...invalid])
  })

  it('returns the same bytes when there is nothing to mask', () => {
    const input = new Uint8Array([0xff, ...encoder.encode(' sk-learn-compatible-estimators '), 0x80])
    const result = redactBytes(input)
    expect(result.bytes).toBe(input)
    expect(result.counts).toEqual({})
  })
})
