import {describe, expect, it} from 'vitest'
import {codexFormat} from './codex.ts'
import type {JsonObject} from './json.ts'
import {sniff} from './lines.ts'
import {corpusFiles, corpusText, itSurvivesDamage, jsonLines, readCorpus} from './testing.ts'

const parse = (bytes: Uint8Array) => {
  const parsed = codexFormat.parse?.(bytes)
  if (parsed === undefined) throw new Error('codex cannot parse')
  return parsed
}

interface RolloutLine {
  line: number
  timestamp: string
  type: string
  payload: JsonObject
}

const rolloutOf = (file: string): RolloutLine[] => jsonLines(corpusText(file)).map(({line, value}) => ({line, ...(value as Omit<RolloutLine, 'line'>)}))

describe('codex: corpus rollouts', () => {
  for (const file of corpusFiles('codex')) {
    describe(file, () => {
      const lines = rolloutOf(file)
      const parsed = parse(readCorpus(file))
      const items = (type: string) => lines.filter((line) => line.type === 'response_item' && line.payload.type === type)

      it('maps each line to exactly one record, with its timestamp', () => {
        expect(parsed.damage).toEqual([])
        expect(parsed.kind).toBe('agent')
        expect(parsed.records.map(({line, ts}) => [line, ts])).toEqual(lines.map(({line, timestamp}) => [line, Date.parse(timestamp)]))
      })

      it('maps each line type as documented', () => {
        const byLine = new Map(parsed.records.map((record) => [record.line, record]))
        for (const {line, type, payload} of lines) {
          const record = byLine.get(line)
          if (type === 'session_meta' || type === 'turn_context') expect(record).toMatchObject({type: 'state', state: payload, meta: {type}})
          if (type === 'compacted') expect(record).toMatchObject({type: 'marker', label: 'compacted', meta: payload})
          if (type === 'event_msg') expect(record).toMatchObject({type: 'event', name: payload.type, data: payload})
          if (type === 'response_item' && payload.type === 'message') expect(record).toMatchObject({type: 'message', role: payload.role})
          if (type === 'response_item' && payload.type === 'reasoning') expect(record).toMatchObject({type: 'message', role: 'assistant', parts: [{type: 'thinking'}]})
        }
      })

      it('maps function calls and their outputs to tool records', () => {
        const calls = parsed.records.filter((record) => record.type === 'tool_call')
        const results = parsed.records.filter((record) => record.type === 'tool_result')
        const expected = items('function_call').map(({payload}) => [payload.name, payload.call_id, JSON.parse(String(payload.arguments))])
        expect(calls.map((call) => [call.name, call.callId, call.args])).toEqual(expected)
        expect(results.map((result) => [result.callId, result.result])).toEqual(items('function_call_output').map(({payload}) => [payload.call_id, payload.output]))
      })

      it('does not repeat event_msg user and agent messages as messages', () => {
        const messages = parsed.records.filter((record) => record.type === 'message' && record.parts.some((part) => part.type === 'text'))
        expect(messages).toHaveLength(items('message').length)
      })

      it('derives the metadata from session_meta, turn_context and token_count', () => {
        const meta = lines.find((line) => line.type === 'session_meta')?.payload
        const tokenCounts = lines.filter((line) => line.type === 'event_msg' && line.payload.type === 'token_count')
        const lastUsage = (tokenCounts.at(-1)?.payload.info as {total_token_usage: {total_tokens: number}}).total_token_usage
        const firstUserText = items('message')
          .filter(({payload}) => payload.role === 'user')
          .map(({payload}) => (payload.content as {text: string}[])[0]?.text ?? '')
          .find((text) => !text.startsWith('<'))
        expect(parsed.meta).toEqual({
          title: firstUserText,
          model: lines.find((line) => line.type === 'turn_context')?.payload.model,
          provider: meta?.model_provider,
          cwd: meta?.cwd,
          externalId: meta?.id,
          tokens: lastUsage.total_tokens,
          createdAt: Date.parse(lines[0]?.timestamp ?? ''),
          lastActivityAt: Date.parse(lines.at(-1)?.timestamp ?? ''),
        })
      })

      describe('damage', () => {
        itSurvivesDamage(codexFormat, readCorpus(file))
      })
    })
  }
})

describe('codex: details', () => {
  const line = (payload: JsonObject) => JSON.stringify({timestamp: '2025-01-01T00:00:00.000Z', type: 'response_item', payload})

  it('keeps arguments that are not JSON as the raw string', () => {
    const parsed = parse(new TextEncoder().encode(`${line({type: 'function_call', name: 'shell', arguments: 'not json', call_id: 'c1'})}\n`))
    expect(parsed.records).toEqual([{type: 'tool_call', name: 'shell', args: 'not json', callId: 'c1', line: 1, ts: Date.parse('2025-01-01T00:00:00.000Z')}])
  })

  it('keeps encrypted-only reasoning as an event and reports lines that are not rollout lines', () => {
    const text = `${line({type: 'reasoning', summary: [], encrypted_content: 'xyz'})}\n{"hello": 1}\n`
    const parsed = parse(new TextEncoder().encode(text))
    expect(parsed.records).toMatchObject([{type: 'event', name: 'reasoning', line: 1}])
    expect(parsed.damage).toEqual([{line: 2, reason: 'not a Codex rollout line ({timestamp, type, payload})'}])
    expect(parsed.meta.provider).toBe('openai')
  })

  it('does not claim Claude Code, Gemini CLI or Pi files', () => {
    for (const file of [...corpusFiles('claude-code'), ...corpusFiles('gemini-cli'), ...corpusFiles('other')]) {
      expect(codexFormat.detect?.(sniff(readCorpus(file))), file).toBe(0)
    }
  })
})
