import {describe, expect, it} from 'vitest'
import {BOM_DAMAGE, EMPTY_DAMAGE, HEAD_LINES, readJson, readJsonDocument, readJsonLines, sniff, TORN_DAMAGE, UTF8_DAMAGE} from './lines.ts'
import {corpusFiles, jsonLines, readCorpus, replaceLine, withBom} from './testing.ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('readJsonLines', () => {
  it('reads LF and CRLF lines and skips blank ones, keeping line numbers', () => {
    const {items, damage} = readJsonLines(utf8('{"a":1}\r\n\n  \r\n[2]\n"three"\n'))
    expect(damage).toEqual([])
    expect(items).toEqual([
      {line: 1, value: {a: 1}},
      {line: 4, value: [2]},
      {line: 5, value: 'three'},
    ])
  })

  it('accepts a last line without newline when it parses', () => {
    expect(readJsonLines(utf8('1\n2'))).toEqual({items: [{line: 1, value: 1}, {line: 2, value: 2}], damage: []})
  })

  it('reports and drops a byte-order mark', () => {
    expect(readJsonLines(withBom(utf8('{"a":1}\n')))).toEqual({items: [{line: 1, value: {a: 1}}], damage: [{line: 1, reason: BOM_DAMAGE}]})
  })

  it('reports invalid UTF-8, bad JSON and a torn tail by line, keeping the rest', () => {
    const bytes = new Uint8Array([...utf8('1\n'), 0x31, 0xff, 0xfe, ...utf8('\n3\nnot json\n5\n{"torn":')])
    const {items, damage} = readJsonLines(bytes)
    expect(items).toEqual([
      {line: 1, value: 1},
      {line: 3, value: 3},
      {line: 5, value: 5},
    ])
    expect(damage.map(({line}) => line)).toEqual([2, 4, 6])
    expect(damage[0]?.reason).toBe(UTF8_DAMAGE)
    expect(damage[1]?.reason).toMatch(/^invalid JSON: \S/)
    expect(damage[2]?.reason).toBe(TORN_DAMAGE)
  })

  it('calls a last line torn when a write cut a multi-byte character', () => {
    const bytes = utf8('1\n"◆"')
    expect(readJsonLines(bytes.subarray(0, bytes.length - 2)).damage).toEqual([{line: 2, reason: TORN_DAMAGE}])
  })

  it('reports an empty or blank file', () => {
    expect(readJsonLines(new Uint8Array())).toEqual({items: [], damage: [{line: null, reason: EMPTY_DAMAGE}]})
    expect(readJsonLines(utf8('\n  \n'))).toEqual({items: [], damage: [{line: null, reason: EMPTY_DAMAGE}]})
  })

  it('skips # comment lines only when asked', () => {
    expect(readJsonLines(utf8('# note\n1\n'), {comments: true})).toEqual({items: [{line: 2, value: 1}], damage: []})
    expect(readJsonLines(utf8('# note\n1\n')).damage).toHaveLength(1)
  })
})

describe('readJsonDocument', () => {
  it('reads a pretty-printed document, tolerating a BOM', () => {
    expect(readJsonDocument(withBom(utf8('{\n  "a": [1, 2]\n}\n')))).toEqual({ok: true, value: {a: [1, 2]}, damage: [{line: 1, reason: BOM_DAMAGE}]})
  })

  it('keeps a document with invalid UTF-8 and reports the line', () => {
    const bytes = replaceLine(utf8('{\n  "a": "x"\n}\n'), 2, new Uint8Array([...utf8('  "a": "'), 0xff, ...utf8('"')]))
    expect(readJsonDocument(bytes)).toEqual({ok: true, value: {a: '\ufffd'}, damage: [{line: 2, reason: `${UTF8_DAMAGE} (replaced with U+FFFD)`}]})
  })

  it('reports a broken or empty document', () => {
    const broken = readJsonDocument(utf8('{"a": '))
    expect(broken.ok).toBe(false)
    expect(broken.damage).toHaveLength(1)
    expect(broken.damage[0]?.line).toBeNull()
    expect(broken.damage[0]?.reason).toMatch(/^invalid JSON: /)
    expect(readJsonDocument(utf8(' \n'))).toEqual({ok: false, damage: [{line: null, reason: EMPTY_DAMAGE}]})
  })
})

describe('readJson', () => {
  it('tells a document from lines', () => {
    expect(readJson(utf8('{\n"a": 1\n}\n'))).toEqual({shape: 'document', value: {a: 1}, damage: []})
    expect(readJson(utf8('[1,\n2]'))).toEqual({shape: 'document', value: [1, 2], damage: []})
    expect(readJson(utf8('{"a":1}\n{"b":2}\n'))).toEqual({shape: 'lines', items: [{line: 1, value: {a: 1}}, {line: 2, value: {b: 2}}], damage: []})
  })

  it('reads JSONL whose first line is damaged as lines', () => {
    const {shape, damage} = readJson(utf8('{"a":\n{"b":2}\n{"c":3}\n'))
    expect(shape).toBe('lines')
    expect(damage.map(({line}) => line)).toEqual([1])
  })

  it('reports a torn one-line file as a torn line', () => {
    expect(readJson(utf8('{"messages": [1,'))).toEqual({shape: 'lines', items: [], damage: [{line: 1, reason: TORN_DAMAGE}]})
  })

  it('reports a torn pretty-printed document as a whole', () => {
    const content = readJson(utf8('{\n  "messages": [\n    {"a": 1},\n'))
    expect(content).toMatchObject({shape: 'lines', items: []})
    expect(content.damage).toHaveLength(1)
    expect(content.damage[0]?.line).toBeNull()
  })
})

describe('sniff', () => {
  it('parses at most the first 8 non-empty lines of JSONL and no document', () => {
    const lines = Array.from({length: 20}, (_, index) => JSON.stringify({n: index}))
    const bytes = utf8(`${lines.slice(0, 3).join('\n')}\n\nnot json\n${lines.slice(3).join('\n')}\n`)
    const input = sniff(bytes, 'x.jsonl')
    expect(input.path).toBe('x.jsonl')
    expect(input.bytes).toBe(bytes)
    expect(input.head).toHaveLength(HEAD_LINES)
    expect(input.head.slice(0, 5)).toEqual([{n: 0}, {n: 1}, {n: 2}, undefined, {n: 3}])
    expect(input.document).toBeUndefined()
  })

  it('parses a whole document when the file is one JSON value', () => {
    for (const file of [...corpusFiles('gemini-cli'), ...corpusFiles('claude-code')].filter((name) => name.endsWith('.json'))) {
      const bytes = readCorpus(file)
      expect(sniff(bytes).document).toEqual(JSON.parse(new TextDecoder().decode(bytes)))
    }
    expect(sniff(utf8('{"one": "line"}\n')).document).toEqual({one: 'line'})
    expect(sniff(withBom(utf8('[1]'))).document).toEqual([1])
  })

  it('leaves the document out for JSONL and for text that is not JSON', () => {
    const file = 'codex/agent-history-session-01.jsonl'
    const input = sniff(readCorpus(file))
    expect(input.document).toBeUndefined()
    expect(input.head).toEqual(jsonLines(new TextDecoder().decode(readCorpus(file))).slice(0, HEAD_LINES).map(({value}) => value))
    expect(sniff(utf8('hello\n'))).toEqual({bytes: utf8('hello\n'), head: [undefined]})
    expect(sniff(new Uint8Array()).head).toEqual([])
  })
})
