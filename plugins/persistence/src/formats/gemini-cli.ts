import type {DetectInput, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {Damage, MessagePart, MessageRecord, RecordBase, SessionRecord} from '../../../../src/session/types.ts'
import {isObject, isoToMs, type JsonObject, numberOf, omit, stringOf} from './json.ts'
import {type JsonLine, readJson} from './lines.ts'
import {compactMeta, shortTitle, timeSpan, titleFromFirstUserMessage} from './meta.ts'

/**
 * Gemini CLI chat recordings (DESIGN §6): `~/.gemini/tmp/<project-hash>/chats/session-<time>-<id>`,
 * as written by google-gemini/gemini-cli (`packages/core/src/services/chatRecordingService.ts`,
 * types in `chatRecordingTypes.ts`). Two shapes:
 * - legacy `.json`: one object `{sessionId, projectHash, startTime, lastUpdated, summary?, kind?,
 *   messages: [...]}`;
 * - `.jsonl`: a header line (`sessionId`, `projectHash`, `startTime`… and no `type`), then one
 *   message per line, `{"$set": {...}}` metadata patches and `{"$rewindTo": "<message id>"}` lines.
 *   A message is rewritten in full (same `id`) whenever its tool calls or tokens change.
 *
 * A message is `{id, timestamp, type: user|gemini|info|error|warning, content (string or
 * [{text}] parts), thoughts?, tokens?, model?, toolCalls?}`. Mapping: each message → `message`
 * (role `user`, `assistant` for `gemini`, `system` for the others; the original type in
 * `meta.type`; thoughts → thinking parts first, then the content), followed by one `tool_call` per
 * tool call (`callId` = its `id`, `result` as recorded, `isError` when its `status` is `error`,
 * `parentId` = the message id). A message written again replaces the records of its earlier
 * version, in place. The header and each `$set` → `state` (`meta.type` `header` or `$set`); each
 * `$rewindTo` → `marker` `rewind` with `meta.rewindTo`. `line` is the JSONL line, or the index + 1
 * in `messages` for the legacy shape.
 */
export const geminiCliFormat: FormatAdapter = {
  name: 'gemini-cli',
  description: 'Gemini CLI chat recording (~/.gemini/tmp/<hash>/chats/session-*.json or .jsonl)',
  extension: '.jsonl',
  detect,
  parse,
}

const MESSAGE_TYPES = new Set(['user', 'gemini', 'info', 'error', 'warning'])

function isHeader(value: unknown): value is JsonObject {
  return isObject(value) && typeof value.sessionId === 'string' && typeof value.projectHash === 'string' && !('type' in value)
}

function isGeminiLine(value: unknown): boolean {
  if (!isObject(value)) return false
  if (typeof value.$rewindTo === 'string' || isObject(value.$set)) return true
  return typeof value.id === 'string' && MESSAGE_TYPES.has(String(value.type)) && 'content' in value && !('message' in value)
}

function detect({head, document}: DetectInput): number {
  if (isObject(document) && Array.isArray(document.messages) && (typeof document.sessionId === 'string' || typeof document.projectHash === 'string')) return 95
  if (isHeader(head[0])) return 95
  const parsed = head.filter((value) => value !== undefined)
  const hits = parsed.filter(isGeminiLine).length
  return hits > 0 && hits * 2 >= parsed.length ? 60 : 0
}

/** Content (`PartListUnion`: a string, a part or a list of parts) as message parts. */
function contentParts(content: unknown): MessagePart[] {
  if (typeof content === 'string') return content === '' ? [] : [{type: 'text', text: content}]
  const items: unknown[] = Array.isArray(content) ? content : content === undefined || content === null ? [] : [content]
  return items.map((part): MessagePart => {
    if (isObject(part) && typeof part.text === 'string') return {type: part.thought === true ? 'thinking' : 'text', text: part.text}
    return {type: 'data', data: part}
  })
}

function thoughtParts(thoughts: unknown): MessagePart[] {
  if (!Array.isArray(thoughts)) return []
  return thoughts.flatMap((thought): MessagePart[] => {
    if (!isObject(thought)) return []
    const text = [stringOf(thought.subject), stringOf(thought.description)].filter((item) => item !== undefined && item !== '').join('\n')
    return text === '' ? [] : [{type: 'thinking', text}]
  })
}

function toolCallRecord(call: unknown, base: RecordBase, messageId: string | undefined): SessionRecord {
  const tool = isObject(call) ? call : {}
  const callId = stringOf(tool.id)
  const ts = isoToMs(tool.timestamp) ?? base.ts
  const status = stringOf(tool.status)
  const meta = omit(tool, ['id', 'name', 'args', 'result', 'timestamp'])
  return {
    type: 'tool_call',
    name: stringOf(tool.name) ?? 'unknown',
    args: tool.args,
    ...(callId === undefined ? {} : {callId}),
    ...('result' in tool ? {result: tool.result} : {}),
    ...(status === undefined ? {} : {isError: status === 'error'}),
    ...(base.line === undefined ? {} : {line: base.line}),
    ...(ts === undefined ? {} : {ts}),
    ...(messageId === undefined ? {} : {parentId: messageId}),
    ...(meta === undefined ? {} : {meta}),
  }
}

function messageRecords(message: JsonObject, line: number | undefined): SessionRecord[] {
  const type = stringOf(message.type) ?? 'unknown'
  const role = type === 'user' ? 'user' : type === 'gemini' ? 'assistant' : 'system'
  const id = stringOf(message.id)
  const ts = isoToMs(message.timestamp)
  const model = stringOf(message.model)
  const base: RecordBase = {...(ts === undefined ? {} : {ts}), ...(line === undefined ? {} : {line})}
  const parts = [...thoughtParts(message.thoughts), ...contentParts(message.content)]
  const meta = {type, ...omit(message, ['id', 'timestamp', 'type', 'content', 'thoughts', 'toolCalls', 'model', 'sessionId'])}
  const calls = Array.isArray(message.toolCalls) ? message.toolCalls.map((call) => toolCallRecord(call, base, id)) : []
  return [{type: 'message', role, parts, ...(model === undefined ? {} : {model}), ...base, ...(id === undefined ? {} : {id}), meta}, ...calls]
}

/** Header (or legacy top-level fields) and the message/patch lines of a recording. */
function linesOf(bytes: Uint8Array): {header?: JsonObject; lines: JsonLine[]; damage: Damage[]} {
  const content = readJson(bytes)
  if (content.shape === 'lines') return {lines: content.items, damage: content.damage}
  const {value, damage} = content
  if (isObject(value) && Array.isArray(value.messages)) {
    return {header: omit(value, ['messages']) ?? {}, lines: value.messages.map((item, index) => ({line: index + 1, value: item})), damage}
  }
  return {lines: [{line: 1, value}], damage}
}

function parse(bytes: Uint8Array): ParsedSession {
  const {header, lines, damage} = linesOf(bytes)
  let session: JsonObject = header ?? {}
  const groups: SessionRecord[][] = header === undefined ? [] : [[{type: 'state', state: header, meta: {type: 'header'}}]]
  const groupOfMessage = new Map<string, number>()
  const tokensOfMessage = new Map<string, number>()
  for (const {line, value} of lines) {
    if (!isObject(value)) {
      damage.push({line, reason: 'not a Gemini CLI record (expected an object)'})
    } else if (typeof value.$rewindTo === 'string') {
      groups.push([{type: 'marker', label: 'rewind', line, meta: {rewindTo: value.$rewindTo}}])
    } else if (isObject(value.$set)) {
      session = {...session, ...value.$set}
      groups.push([{type: 'state', state: value.$set, line, meta: {type: '$set'}}])
    } else if (typeof value.id === 'string') {
      const tokens = isObject(value.tokens) ? (numberOf(value.tokens.total) ?? (numberOf(value.tokens.input) ?? 0) + (numberOf(value.tokens.output) ?? 0)) : undefined
      if (tokens !== undefined) tokensOfMessage.set(value.id, tokens)
      const earlier = groupOfMessage.get(value.id)
      if (earlier === undefined) groupOfMessage.set(value.id, groups.push(messageRecords(value, line)) - 1)
      else groups[earlier] = messageRecords(value, line)
    } else if (typeof value.sessionId === 'string' && !('type' in value)) {
      session = {...session, ...value}
      groups.push([{type: 'state', state: value, line, meta: {type: 'header'}}])
    } else {
      damage.push({line, reason: 'not a Gemini CLI record (no "id", "$set" or "$rewindTo")'})
    }
  }
  const records = groups.flat()
  const span = timeSpan(records)
  const startTime = isoToMs(session.startTime)
  const lastUpdated = isoToMs(session.lastUpdated)
  const summary = stringOf(session.summary)
  const model = records.find((record): record is MessageRecord => record.type === 'message' && record.role === 'assistant' && record.model !== undefined)?.model
  const ends = [startTime, lastUpdated, span.lastActivityAt].filter((ms) => ms !== undefined)
  return {
    format: 'gemini-cli',
    kind: 'agent',
    records,
    output: [],
    meta: compactMeta({
      title: (summary === undefined ? undefined : shortTitle(summary)) ?? titleFromFirstUserMessage(records),
      model,
      provider: 'google',
      externalId: stringOf(session.sessionId),
      tokens: tokensOfMessage.size > 0 ? [...tokensOfMessage.values()].reduce((sum, used) => sum + used, 0) : undefined,
      createdAt: startTime ?? span.createdAt,
      lastActivityAt: ends.length > 0 ? Math.max(...ends) : undefined,
    }),
    damage,
  }
}
