import {describe, expect, it} from 'vitest'
import type {ExportSession, FormatAdapter} from '../../../../src/session/format.ts'
import {asciicastFormat} from './asciicast.ts'
import {claudeCodeFormat} from './claude-code.ts'
import {codexFormat} from './codex.ts'
import {geminiCliFormat} from './gemini-cli.ts'
import {builtinFormats, detectFormat} from './index.ts'
import {sniff} from './lines.ts'
import {HEADER_FIELDS, SESS_VERSION, sessFormat} from './sess.ts'
import {corpusFiles, exportOf, itSurvivesDamage, readCorpus, sessionOf} from './testing.ts'

const parse = (bytes: Uint8Array) => {
  const parsed = sessFormat.parse?.(bytes)
  if (parsed === undefined) throw new Error('sess cannot parse')
  return parsed
}
const serialize = (session: ExportSession): Uint8Array => sessFormat.serialize?.(session) ?? new Uint8Array()
const lines = (bytes: Uint8Array): unknown[] =>
  new TextDecoder()
    .decode(bytes)
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown)

/** Corpus files of every kind: agent transcripts with tools and markers, a terminal recording. */
const SAMPLE_FILES: [string, FormatAdapter][] = [
  ['claude-code/agent-history-compaction.jsonl', claudeCodeFormat],
  ['claude-code/simonw-sample-session.json', claudeCodeFormat],
  ['codex/agent-history-compaction.jsonl', codexFormat],
  ['gemini-cli/agent-history-tool-error.jsonl', geminiCliFormat],
  ['asciicast/player-resizing.cast', asciicastFormat],
]

const samples = SAMPLE_FILES.map(([file, adapter]): [string, ExportSession] => {
  const parsed = adapter.parse?.(readCorpus(file))
  if (parsed === undefined) throw new Error(`cannot parse ${file}`)
  return [file, exportOf(parsed, {name: 'sample', tags: ['corpus'], parentId: '01JPARENT000000000000000000'})]
})

describe('sess: round trip', () => {
  for (const [file, exported] of samples) {
    it(`gives back the records, output and metadata of ${file}`, () => {
      const bytes = serialize(exported)
      expect(detectFormat(sniff(bytes), builtinFormats, {allowRaw: true})).toEqual({adapter: sessFormat, confidence: 100})
      const parsed = parse(bytes)
      expect(parsed.damage).toEqual([])
      expect(parsed.records).toEqual(exported.records)
      expect(parsed.output).toEqual(exported.output)
      expect(parsed.kind).toBe(exported.session.kind)
      const {session} = exported
      expect(parsed.meta).toEqual(
        Object.fromEntries(
          Object.entries({
            name: session.name,
            tags: session.tags,
            title: session.title,
            model: session.model,
            provider: session.provider,
            cwd: session.cwd,
            externalId: session.externalId,
            createdAt: session.createdAt,
            lastActivityAt: session.lastActivityAt,
          }).filter(([, value]) => value !== null),
        ),
      )
    })
  }
})

describe('sess: layout', () => {
  const [, exported] = samples.find(([file]) => file.endsWith('.cast')) ?? []
  if (exported === undefined) throw new Error('no terminal sample')
  const [header, ...rest] = lines(serialize(exported))

  it('starts with the header: version and the session fields', () => {
    const fields = Object.fromEntries(HEADER_FIELDS.map((key) => [key, exported.session[key]]))
    expect(header).toEqual({sess: SESS_VERSION, session: fields})
    expect(Object.keys((header as {session: object}).session)).toEqual([...HEADER_FIELDS])
  })

  it('writes the records as stored, then the output events tagged "output"', () => {
    expect(rest).toEqual([...exported.records, ...exported.output.map((event) => ({type: 'output', ...event}))])
  })

  it('is not mistaken for any other format, nor are they for it', () => {
    const bytes = serialize({session: sessionOf(), records: [], output: []})
    expect(parse(bytes)).toMatchObject({records: [], output: [], damage: [], kind: 'agent'})
    for (const file of ['claude-code', 'codex', 'gemini-cli', 'asciicast', 'other'].flatMap(corpusFiles)) {
      expect(sessFormat.detect?.(sniff(readCorpus(file))), file).toBe(0)
    }
  })
})

describe('sess: damage', () => {
  const [, exported] = samples[0] ?? []
  if (exported === undefined) throw new Error('no sample')
  itSurvivesDamage(sessFormat, serialize(exported))

  it('reports lines that are not records or output events, and a missing header', () => {
    const text = ['{"type":"message","role":"user","parts":[]}', '{"type":"message"}', '{"type":"output","time":"x","code":"o","data":""}', '{"type":"nope"}'].join('\n')
    const parsed = parse(new TextEncoder().encode(`${text}\n`))
    expect(parsed.records).toEqual([{type: 'message', role: 'user', parts: []}])
    expect(parsed.damage.map(({line}) => line)).toEqual([1, 2, 3, 4])
    expect(parsed.damage[0]?.reason).toMatch(/missing sess header/)
  })
})
