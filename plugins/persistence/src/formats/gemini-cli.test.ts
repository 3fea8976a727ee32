import {describe, expect, it} from 'vitest'
import {geminiCliFormat} from './gemini-cli.ts'
import {isObject, type JsonObject} from './json.ts'
import {BOM_DAMAGE, sniff} from './lines.ts'
import {corpusFiles, corpusText, itSurvivesDamage, jsonLines, readCorpus, withBom} from './testing.ts'

const parse = (bytes: Uint8Array) => {
  const parsed = geminiCliFormat.parse?.(bytes)
  if (parsed === undefined) throw new Error('gemini-cli cannot parse')
  return parsed
}

/** A recording's header fields and its messages with their line (JSONL) or item (JSON) numbers. */
function recordingOf(file: string): {header: JsonObject; messages: {line: number; message: JsonObject}[]} {
  const text = corpusText(file)
  if (file.endsWith('.json')) {
    const {messages, ...header} = JSON.parse(text) as JsonObject & {messages: JsonObject[]}
    return {header, messages: messages.map((message, index) => ({line: index + 1, message}))}
  }
  const [first, ...rest] = jsonLines(text)
  return {header: first?.value as JsonObject, messages: rest.map(({line, value}) => ({line, message: value as JsonObject}))}
}

const toolCallsOf = (message: JsonObject): JsonObject[] => (Array.isArray(message.toolCalls) ? message.toolCalls.filter(isObject) : [])

describe('gemini-cli: corpus recordings', () => {
  for (const file of corpusFiles('gemini-cli')) {
    describe(file, () => {
      const {header, messages} = recordingOf(file)
      const parsed = parse(readCorpus(file))

      it('maps the header to a state record and each message to a message and its tool calls', () => {
        expect(parsed.damage).toEqual([])
        expect(parsed.kind).toBe('agent')
        const [state, ...rest] = parsed.records
        expect(state).toMatchObject({type: 'state', state: header, meta: {type: 'header'}})
        const expected = messages.flatMap(({line, message}) => [
          ['message', line, message.id],
          ...toolCallsOf(message).map((call) => ['tool_call', line, call.id]),
        ])
        expect(rest.map((record) => [record.type, record.line, record.type === 'message' ? record.id : record.type === 'tool_call' ? record.callId : undefined])).toEqual(expected)
      })

      it('maps roles, thoughts, content and tool results', () => {
        const records = parsed.records.filter((record) => record.type === 'message')
        for (const [index, {message}] of messages.entries()) {
          const record = records[index]
          expect(record?.role).toBe(message.type === 'gemini' ? 'assistant' : message.type)
          expect(record?.meta?.type).toBe(message.type)
          const thoughts = Array.isArray(message.thoughts) ? message.thoughts.length : 0
          expect(record?.parts.filter((part) => part.type === 'thinking')).toHaveLength(thoughts)
          const text = typeof message.content === 'string' ? message.content : (message.content as {text: string}[]).map((part) => part.text).join('\n\n')
          expect(record?.parts.filter((part) => part.type === 'text').map((part) => (part.type === 'text' ? part.text : '')).join('\n\n')).toBe(text)
        }
        const calls = parsed.records.filter((record) => record.type === 'tool_call')
        const expected = messages.flatMap(({message}) => toolCallsOf(message)).map((call) => [call.name, call.args, call.result, call.status === 'error'])
        expect(calls.map((call) => [call.name, call.args, call.result, call.isError])).toEqual(expected)
      })

      it('derives the metadata from the header and the messages', () => {
        const tokens = messages.map(({message}) => message.tokens).filter(isObject)
        const firstUser = messages.find(({message}) => message.type === 'user')?.message.content
        expect(parsed.meta).toEqual({
          title: typeof firstUser === 'string' ? firstUser : (firstUser as {text: string}[])[0]?.text,
          model: messages.find(({message}) => typeof message.model === 'string')?.message.model,
          provider: 'google',
          externalId: header.sessionId,
          tokens: tokens.reduce((sum, used) => sum + Number(used.total), 0),
          createdAt: Date.parse(String(header.startTime)),
          lastActivityAt: Date.parse(String(header.lastUpdated)),
        })
      })
    })
  }
})

describe('gemini-cli: JSONL updates', () => {
  const file = 'gemini-cli/agent-history-tool-error.jsonl'
  const text = corpusText(file)
  const encode = (lines: readonly string[]) => new TextEncoder().encode(`${text}${lines.map((line) => `${line}\n`).join('')}`)
  const lineCount = jsonLines(text).length

  it('maps $set to a state record (and the title) and $rewindTo to a marker', () => {
    const parsed = parse(encode([JSON.stringify({$set: {summary: 'Port and host change'}}), JSON.stringify({$rewindTo: 'msg-ge3'})]))
    expect(parsed.damage).toEqual([])
    expect(parsed.records.slice(-2)).toEqual([
      {type: 'state', state: {summary: 'Port and host change'}, line: lineCount + 1, meta: {type: '$set'}},
      {type: 'marker', label: 'rewind', line: lineCount + 2, meta: {rewindTo: 'msg-ge3'}},
    ])
    expect(parsed.meta.title).toBe('Port and host change')
  })

  it('replaces a message written again in place, counting its tokens once', () => {
    const before = parse(readCorpus(file))
    const [, second] = jsonLines(text)
    const rewritten: JsonObject = {...(second?.value as JsonObject), content: 'Updated answer'}
    const parsed = parse(encode([JSON.stringify(rewritten)]))
    expect(parsed.records).toHaveLength(before.records.length)
    expect(parsed.meta.tokens).toBe(before.meta.tokens)
    const index = before.records.findIndex((record) => record.id === rewritten.id)
    expect(parsed.records[index]).toMatchObject({type: 'message', id: rewritten.id, line: lineCount + 1})
    expect(parsed.records[index]?.type === 'message' && parsed.records[index].parts.at(-1)).toEqual({type: 'text', text: 'Updated answer'})
  })

  it('reports lines that are not recording lines', () => {
    expect(parse(encode(['[1, 2]', '{"what": 1}'])).damage).toEqual([
      {line: lineCount + 1, reason: 'not a Gemini CLI record (expected an object)'},
      {line: lineCount + 2, reason: 'not a Gemini CLI record (no "id", "$set" or "$rewindTo")'},
    ])
  })
})

describe('gemini-cli: detection and damage', () => {
  it('does not claim Claude Code, Codex or Pi files', () => {
    for (const file of [...corpusFiles('claude-code'), ...corpusFiles('codex'), ...corpusFiles('other')]) {
      expect(geminiCliFormat.detect?.(sniff(readCorpus(file))), file).toBe(0)
    }
  })

  it('reads a legacy JSON recording with a byte-order mark', () => {
    const file = 'gemini-cli/agent-history-golden.json'
    const parsed = parse(withBom(readCorpus(file)))
    expect(parsed.damage).toEqual([{line: 1, reason: BOM_DAMAGE}])
    expect(parsed.records).toEqual(parse(readCorpus(file)).records)
  })

  itSurvivesDamage(geminiCliFormat, readCorpus('gemini-cli/agent-history-tool-error.jsonl'))
})
