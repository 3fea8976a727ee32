import type {DetectInput, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {MessagePart, RecordBase, SessionRecord, ToolCallRecord} from '../../../../src/session/types.ts'
import {isObject, isoToMs, type JsonObject, numberOf, omit, stringOf, tryParse} from './json.ts'
import {readJsonLines} from './lines.ts'
import {compactMeta, timeSpan, titleFromFirstUserMessage} from './meta.ts'

/**
 * Codex CLI rollout files (DESIGN §6): `~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl`,
 * one `{timestamp, type, payload}` object per line, as written by openai/codex
 * (`codex-rs/protocol/src/protocol.rs`, `RolloutItem`). Line types: `session_meta`, `turn_context`,
 * `response_item` (payload types `message`, `reasoning`, `function_call`, `function_call_output`,
 * `custom_tool_call`…), `event_msg` and `compacted`.
 *
 * Mapping, one record per line: `response_item` `message` → `message` (`role` as given; `input_text`
 * and `output_text` content → text parts); `reasoning` → an `assistant` message of thinking parts
 * (its summary and content texts), or an `event` when it holds none (encrypted only);
 * `function_call`, `custom_tool_call`, `local_shell_call` → `tool_call` (`args` parsed from the
 * `arguments` JSON string when it is JSON); `*_output` → `tool_result`; `session_meta` and
 * `turn_context` → `state` (`meta.type` tells which); `compacted` → `marker` `compacted` with the
 * payload in `meta`; `event_msg` → `event` named after `payload.type` (its `user_message` and
 * `agent_message` repeat response items, so they are not made messages). `ts` is the line's
 * timestamp, `line` its line number.
 */
export const codexFormat: FormatAdapter = {
  name: 'codex',
  description: 'Codex CLI rollout JSONL (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl)',
  extension: '.jsonl',
  detect,
  parse,
}

const LINE_TYPES = new Set(['session_meta', 'response_item', 'event_msg', 'turn_context', 'compacted'])

/** Whether `value` is a rollout line: `{timestamp, type, payload}` with a known type. */
function isRolloutLine(value: unknown): value is JsonObject & {type: string; payload: JsonObject} {
  return isObject(value) && typeof value.timestamp === 'string' && typeof value.type === 'string' && LINE_TYPES.has(value.type) && isObject(value.payload)
}

function detect({head}: DetectInput): number {
  const parsed = head.filter((value) => value !== undefined)
  const hits = parsed.filter(isRolloutLine).length
  if (hits === 0) return 0
  const [first] = head
  if (isRolloutLine(first) && first.type === 'session_meta') return 95
  return hits * 2 >= parsed.length ? 90 : 50
}

/** `meta` of a record: the payload's fields that the mapping did not use, when there are any. */
function withMeta<T extends SessionRecord>(record: T, payload: JsonObject, mapped: readonly string[]): T {
  const meta = omit(payload, ['type', 'id', ...mapped])
  return meta === undefined ? record : {...record, meta}
}

function contentParts(content: unknown, textTypes: readonly string[]): MessagePart[] {
  if (!Array.isArray(content)) return []
  return content.map((item): MessagePart => {
    if (isObject(item) && typeof item.text === 'string' && textTypes.includes(String(item.type))) return {type: 'text', text: item.text}
    return {type: 'data', data: item}
  })
}

function toolCall(payload: JsonObject, base: RecordBase): SessionRecord {
  const kind = String(payload.type)
  const callId = stringOf(payload.call_id)
  const call = (name: string, args: unknown): ToolCallRecord => ({type: 'tool_call', name, args, ...(callId === undefined ? {} : {callId}), ...base})
  if (kind === 'function_call') {
    const raw = payload.arguments
    const args = typeof raw === 'string' ? (tryParse(raw) ?? raw) : raw
    return withMeta(call(stringOf(payload.name) ?? kind, args), payload, ['name', 'arguments', 'call_id'])
  }
  if (kind === 'custom_tool_call') return withMeta(call(stringOf(payload.name) ?? kind, payload.input), payload, ['name', 'input', 'call_id'])
  return withMeta(call('local_shell', payload.action), payload, ['action', 'call_id'])
}

function responseItem(payload: JsonObject, base: RecordBase): SessionRecord {
  const kind = stringOf(payload.type) ?? 'response_item'
  const id = stringOf(payload.id)
  const withId = id === undefined ? base : {...base, id}
  switch (kind) {
    case 'message': {
      const parts = contentParts(payload.content, ['input_text', 'output_text', 'text'])
      return withMeta({type: 'message', role: stringOf(payload.role) ?? 'assistant', parts, ...withId}, payload, ['role', 'content'])
    }
    case 'reasoning': {
      const texts = [...contentParts(payload.summary, ['summary_text']), ...contentParts(payload.content, ['reasoning_text', 'text'])]
      const parts = texts.flatMap((part): MessagePart[] => (part.type === 'text' ? [{type: 'thinking', text: part.text}] : []))
      if (parts.length === 0) return {type: 'event', name: kind, data: payload, ...withId}
      return withMeta({type: 'message', role: 'assistant', parts, ...withId}, payload, ['summary', 'content'])
    }
    case 'function_call':
    case 'custom_tool_call':
    case 'local_shell_call':
      return toolCall(payload, withId)
    case 'function_call_output':
    case 'custom_tool_call_output': {
      const callId = stringOf(payload.call_id)
      const output = payload.output
      const isError = isObject(output) && output.success === false ? {isError: true} : {}
      return withMeta({type: 'tool_result', ...(callId === undefined ? {} : {callId}), result: output, ...isError, ...withId}, payload, ['call_id', 'output'])
    }
    default:
      return {type: 'event', name: kind, data: payload, ...withId}
  }
}

function lineRecord(type: string, payload: JsonObject, base: RecordBase): SessionRecord {
  switch (type) {
    case 'response_item':
      return responseItem(payload, base)
    case 'session_meta':
    case 'turn_context':
      return {type: 'state', state: payload, ...base, meta: {type}}
    case 'compacted':
      return {type: 'marker', label: 'compacted', ...base, meta: payload}
    default:
      return {type: 'event', name: stringOf(payload.type) ?? type, data: payload, ...base}
  }
}

/** Total tokens of a `token_count` event (`info.total_token_usage`), if it has them. */
function totalTokens(payload: JsonObject): number | undefined {
  const usage = isObject(payload.info) && isObject(payload.info.total_token_usage) ? payload.info.total_token_usage : undefined
  if (usage === undefined) return undefined
  return numberOf(usage.total_tokens) ?? (numberOf(usage.input_tokens) ?? 0) + (numberOf(usage.output_tokens) ?? 0)
}

function parse(bytes: Uint8Array): ParsedSession {
  const {items, damage} = readJsonLines(bytes)
  const records: SessionRecord[] = []
  let sessionMeta: JsonObject | undefined
  let model: string | undefined
  let cwd: string | undefined
  let tokens: number | undefined
  for (const {line, value} of items) {
    const type = isObject(value) ? stringOf(value.type) : undefined
    if (!isObject(value) || type === undefined || !isObject(value.payload)) {
      damage.push({line, reason: 'not a Codex rollout line ({timestamp, type, payload})'})
      continue
    }
    const payload = value.payload
    const ts = isoToMs(value.timestamp)
    records.push(lineRecord(type, payload, ts === undefined ? {line} : {line, ts}))
    if (type === 'session_meta') sessionMeta ??= payload
    if (type === 'turn_context') model ??= stringOf(payload.model)
    cwd ??= type === 'session_meta' || type === 'turn_context' ? stringOf(payload.cwd) : undefined
    if (type === 'event_msg' && payload.type === 'token_count') tokens = totalTokens(payload) ?? tokens
  }
  return {
    format: 'codex',
    kind: 'agent',
    records,
    output: [],
    meta: compactMeta({
      title: titleFromFirstUserMessage(records),
      model,
      provider: stringOf(sessionMeta?.model_provider) ?? 'openai',
      cwd,
      externalId: stringOf(sessionMeta?.id),
      tokens,
      ...timeSpan(records),
    }),
    damage,
  }
}
