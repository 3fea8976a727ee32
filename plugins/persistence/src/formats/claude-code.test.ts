import {describe, expect, it} from 'vitest'
import type {SessionRecord} from '../../../../src/session/types.ts'
import {claudeCodeFormat} from './claude-code.ts'
import {isObject, type JsonObject} from './json.ts'
import {BOM_DAMAGE, sniff} from './lines.ts'
import {corpusFiles, corpusText, itSurvivesDamage, jsonLines, readCorpus, withBom} from './testing.ts'

const parse = (bytes: Uint8Array) => {
  const parsed = claudeCodeFormat.parse?.(bytes)
  if (parsed === undefined) throw new Error('claude-code cannot parse')
  return parsed
}

/** The entries of a corpus transcript with their line (JSONL) or item (loglines) numbers. */
function entriesOf(file: string): {line: number; entry: JsonObject}[] {
  const text = corpusText(file)
  const values = file.endsWith('.json')
    ? (JSON.parse(text) as {loglines: unknown[]}).loglines.map((value, index) => ({line: index + 1, value}))
    : jsonLines(text)
  return values.map(({line, value}) => ({line, entry: value as JsonObject}))
}

function blocksOf(entry: JsonObject): JsonObject[] {
  const content = isObject(entry.message) ? entry.message.content : undefined
  return Array.isArray(content) ? content.filter(isObject) : []
}

const count = (records: readonly SessionRecord[], type: SessionRecord['type']): number => records.filter((record) => record.type === type).length

describe('claude-code: corpus transcripts', () => {
  for (const file of corpusFiles('claude-code')) {
    describe(file, () => {
      const entries = entriesOf(file)
      const parsed = parse(readCorpus(file))
      const blocks = entries.flatMap(({entry}) => blocksOf(entry))

      it('maps every line or loglines item to at least one record, in order', () => {
        expect(parsed.damage).toEqual([])
        expect(parsed.kind).toBe('agent')
        expect([...new Set(parsed.records.map(({line}) => line))]).toEqual(entries.map(({line}) => line))
      })

      it('maps tool_use and tool_result blocks to tool records', () => {
        const uses = blocks.filter((block) => block.type === 'tool_use')
        const results = blocks.filter((block) => block.type === 'tool_result')
        expect(count(parsed.records, 'tool_call')).toBe(uses.length)
        expect(count(parsed.records, 'tool_result')).toBe(results.length)
        const calls = parsed.records.filter((record) => record.type === 'tool_call')
        expect(calls.map((call) => [call.name, call.callId, call.args])).toEqual(uses.map((use) => [use.name, use.id, use.input]))
        const errors = parsed.records.filter((record) => record.type === 'tool_result' && record.isError === true)
        expect(errors).toHaveLength(results.filter((result) => result.is_error === true).length)
      })

      it('keeps text and thinking as message parts', () => {
        const parts = parsed.records.flatMap((record) => (record.type === 'message' ? record.parts : []))
        const stringContents = entries.filter(({entry}) => (entry.type === 'user' || entry.type === 'assistant') && isObject(entry.message) && typeof entry.message.content === 'string')
        const texts = blocks.filter((block) => block.type === 'text')
        expect(parts.filter((part) => part.type === 'text')).toHaveLength(texts.length + stringContents.length)
        expect(parts.filter((part) => part.type === 'thinking')).toHaveLength(blocks.filter((block) => block.type === 'thinking').length)
      })

      it('keeps uuid, parentUuid and timestamps on the records of each line', () => {
        for (const {line, entry} of entries) {
          for (const record of parsed.records.filter((item) => item.line === line)) {
            expect(record.id).toBe(entry.uuid ?? undefined)
            expect(record.parentId).toBe(entry.parentUuid ?? undefined)
            expect(record.ts).toBe(typeof entry.timestamp === 'string' ? Date.parse(entry.timestamp) : undefined)
          }
        }
      })

      it('derives the metadata from the entries', () => {
        const sessionIds = entries.map(({entry}) => entry.sessionId).filter((id) => typeof id === 'string')
        const cwds = entries.map(({entry}) => entry.cwd).filter((cwd) => typeof cwd === 'string')
        const assistants = entries.filter(({entry}) => entry.type === 'assistant').map(({entry}) => entry.message as JsonObject)
        const usages = assistants.map((message) => message.usage).filter(isObject)
        const times = entries.map(({entry}) => entry.timestamp).filter((time) => typeof time === 'string').map((time) => Date.parse(time))
        expect(parsed.meta.provider).toBe('anthropic')
        expect(parsed.meta.externalId).toBe(sessionIds[0])
        expect(parsed.meta.cwd).toBe(cwds[0])
        expect(parsed.meta.model).toBe(assistants.find((message) => typeof message.model === 'string')?.model)
        expect(parsed.meta.tokens).toBe(usages.length === 0 ? undefined : usages.reduce((sum, usage) => sum + Number(usage.input_tokens) + Number(usage.output_tokens), 0))
        expect(parsed.meta.createdAt).toBe(Math.min(...times))
        expect(parsed.meta.lastActivityAt).toBe(Math.max(...times))
        expect(parsed.meta.title).toBeTypeOf('string')
      })
    })
  }
})

describe('claude-code: mapping details', () => {
  it('makes a compact boundary a marker and a summary the title', () => {
    const file = 'claude-code/agent-history-compaction.jsonl'
    const entries = entriesOf(file)
    const parsed = parse(readCorpus(file))
    const boundary = entries.find(({entry}) => entry.subtype === 'compact_boundary')
    expect(parsed.records.filter((record) => record.type === 'marker')).toEqual([expect.objectContaining({label: 'compact_boundary', line: boundary?.line})])
    const summary = entries.find(({entry}) => entry.type === 'summary')?.entry.message as JsonObject
    expect(parsed.records).toContainEqual(expect.objectContaining({type: 'event', name: 'summary', data: summary.content}))
    expect(parsed.meta.title).toBe(`${String(summary.content).slice(0, 79)}…`)
  })

  it('takes the title from a summary line, else from the first user text', () => {
    const [summary] = jsonLines(corpusText('claude-code/simonw-sample-session.jsonl'))
    expect(parse(readCorpus('claude-code/simonw-sample-session.jsonl')).meta.title).toBe((summary?.value as JsonObject).summary)
    expect(parse(readCorpus('claude-code/agent-history-forked.jsonl')).meta.title).toBe('Help me implement a sorting algorithm')
  })

  it('keeps other line types as events named after the type, with the line as data', () => {
    const file = 'claude-code/agent-history-session-01.jsonl'
    const entries = entriesOf(file)
    const events = parse(readCorpus(file)).records.filter((record) => record.type === 'event')
    const others = entries.filter(({entry}) => entry.type !== 'user' && entry.type !== 'assistant')
    expect(events.map((event) => [event.name, event.data])).toEqual(others.map(({entry}) => [entry.type, entry]))
  })

  it('keeps block order and line fields in meta', () => {
    const parsed = parse(readCorpus('claude-code/simonw-sample-session.json'))
    const [first, second, third] = parsed.records.filter((record) => record.line === 2)
    expect(first).toMatchObject({type: 'message', role: 'assistant', parts: [{type: 'thinking'}, {type: 'text'}]})
    expect(second).toMatchObject({type: 'tool_call', name: 'Write'})
    expect(third).toBeUndefined()
    const compactSummary = parsed.records.find((record) => record.meta?.isCompactSummary === true)
    expect(compactSummary).toMatchObject({type: 'message', role: 'user', line: 29})
  })

  it('counts the usage of a streamed message once', () => {
    const line = (text: string) =>
      JSON.stringify({type: 'assistant', uuid: text, sessionId: 's', message: {id: 'msg_1', role: 'assistant', model: 'm', content: [{type: 'text', text}], usage: {input_tokens: 10, output_tokens: 5}}})
    const parsed = parse(new TextEncoder().encode(`${line('a')}\n${line('b')}\n`))
    expect(parsed.meta.tokens).toBe(15)
    expect(parsed.records).toHaveLength(2)
  })

  it('reads the loglines wrapper with a byte-order mark', () => {
    const file = 'claude-code/simonw-sample-session.json'
    const parsed = parse(withBom(readCorpus(file)))
    expect(parsed.damage).toEqual([{line: 1, reason: BOM_DAMAGE}])
    expect(parsed.records).toEqual(parse(readCorpus(file)).records)
  })
})

describe('claude-code: detection', () => {
  it('does not claim Pi, Codex or Gemini CLI files', () => {
    for (const file of [...corpusFiles('other'), ...corpusFiles('codex'), ...corpusFiles('gemini-cli')]) {
      expect(claudeCodeFormat.detect?.(sniff(readCorpus(file))), file).toBe(0)
    }
  })
})

describe('claude-code: damage', () => {
  itSurvivesDamage(claudeCodeFormat, readCorpus('claude-code/agent-history-compaction.jsonl'))
})
