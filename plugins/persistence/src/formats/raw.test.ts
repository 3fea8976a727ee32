import {describe, expect, it} from 'vitest'
import {sniff} from './lines.ts'
import {RAW_NOTICE, rawFormat} from './raw.ts'
import {corpusFiles, corpusText, itSurvivesDamage, jsonLines, readCorpus} from './testing.ts'

const parse = (bytes: Uint8Array) => {
  const parsed = rawFormat.parse?.(bytes)
  if (parsed === undefined) throw new Error('raw cannot parse')
  return parsed
}
const encode = (text: string) => new TextEncoder().encode(text)

describe('raw: JSONL', () => {
  for (const file of corpusFiles('other')) {
    it(`keeps each line of ${file} as one raw event`, () => {
      const parsed = parse(readCorpus(file))
      expect(parsed).toMatchObject({format: 'raw', kind: 'raw', output: [], meta: {}, damage: [], notice: RAW_NOTICE})
      expect(parsed.records).toEqual(jsonLines(corpusText(file)).map(({line, value}) => ({type: 'event', name: 'raw', data: value, line})))
    })
  }

  describe('damage', () => {
    const [file] = corpusFiles('other')
    itSurvivesDamage(rawFormat, readCorpus(file ?? ''))
  })
})

describe('raw: JSON documents', () => {
  it('keeps each item of a top-level array as one raw event', () => {
    expect(parse(encode('[\n  {"a": 1},\n  2\n]\n')).records).toEqual([
      {type: 'event', name: 'raw', data: {a: 1}, line: 1},
      {type: 'event', name: 'raw', data: 2, line: 2},
    ])
  })

  it('keeps a single object as one raw event', () => {
    expect(parse(encode('{\n  "a": 1\n}\n')).records).toEqual([{type: 'event', name: 'raw', data: {a: 1}, line: 1}])
  })
})

describe('raw: detection', () => {
  it('answers 1 for anything that reads as JSON, 0 otherwise', () => {
    expect(rawFormat.detect?.(sniff(encode('{\n  "a": 1\n}\n')))).toBe(1)
    expect(rawFormat.detect?.(sniff(encode('{"a": 1}\nnot json\n')))).toBe(1)
    expect(rawFormat.detect?.(sniff(encode('hello world\n')))).toBe(0)
    expect(rawFormat.detect?.(sniff(new Uint8Array()))).toBe(0)
  })
})
