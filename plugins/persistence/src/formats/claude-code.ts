import type {DetectInput, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {Damage, EventRecord, MessagePart, MessageRecord, RecordBase, SessionRecord} from '../../../../src/session/types.ts'
import {isObject, isoToMs, type JsonObject, numberOf, omit, stringOf} from './json.ts'
import {HEAD_LINES, type JsonLine, readJson} from './lines.ts'
import {compactMeta, shortTitle, timeSpan, titleFromFirstUserMessage} from './meta.ts'

/**
 * Claude Code transcripts (DESIGN §6): `~/.claude/projects/<project>/<session-uuid>.jsonl`, one JSON
 * object per line with a `type`: `user` and `assistant` lines carry `message` (`{role, content,
 * model?, usage?}`, content a string or blocks `text`, `thinking`, `tool_use`, `tool_result`…),
 * `system` lines (`subtype`, e.g. `compact_boundary`), `summary`, `file-history-snapshot`,
 * `queue-operation`, `last-prompt` and more; lines are linked into a tree by `uuid`/`parentUuid`.
 * Also reads the `{"loglines": [...]}` JSON wrapper of the same entries used by
 * simonw/claude-code-transcripts (`tests/sample_session.json`).
 *
 * Mapping: the text and thinking blocks of a message become one `message` record (consecutive blocks
 * together, in block order); each `tool_use` block a `tool_call` (`args` = `input`, `callId` = `id`);
 * each `tool_result` block a `tool_result` (`callId` = `tool_use_id`, `result` = `content`,
 * `isError` = `is_error`); `system`/`compact_boundary` a `marker`; `summary` an `event` named
 * `summary` whose data is the summary text; any other line an `event` named after its type with
 * the whole line as data. Every record of a line carries the line's `uuid` as `id`, `parentUuid` as
 * `parentId`, its timestamp as `ts` and its line (or `loglines` item) number; the first one also
 * keeps the line's other fields in `meta`.
 */
export const claudeCodeFormat: FormatAdapter = {
  name: 'claude-code',
  description: 'Claude Code JSONL transcript (~/.claude/projects/<project>/<uuid>.jsonl)',
  extension: '.jsonl',
  detect,
  parse,
}

/** Line fields the mapping already uses; the rest goes to `meta`. */
const MAPPED_KEYS = ['type', 'uuid', 'parentUuid', 'timestamp', 'message', 'sessionId', 'cwd']
/** Content blocks that are tool calls or results: `tool_use`, `tool_result`, `server_tool_use`, `web_search_tool_result`… */
const TOOL_BLOCK = /(^|_)tool_(use|result)$/
/** Model name Claude Code writes on messages it made up itself (errors, interruptions). */
const SYNTHETIC_MODEL = '<synthetic>'

/** Whether `value` has the shape of one Claude Code transcript line of a known type. */
function isClaudeEntry(value: unknown): boolean {
  if (!isObject(value)) return false
  switch (value.type) {
    case 'user':
    case 'assistant':
      return isObject(value.message) && typeof value.message.role === 'string'
    case 'summary':
      return typeof value.summary === 'string' || typeof value.leafUuid === 'string'
    case 'system':
      return typeof value.subtype === 'string'
    case 'queue-operation':
      return typeof value.operation === 'string'
    case 'file-history-snapshot':
      return 'snapshot' in value
    case 'last-prompt':
      return 'lastPrompt' in value
    default:
      return false
  }
}

function detect({head, document}: DetectInput): number {
  if (isObject(document) && Array.isArray(document.loglines)) {
    return document.loglines.slice(0, HEAD_LINES).some(isClaudeEntry) ? 85 : 0
  }
  const parsed = head.filter((value) => value !== undefined)
  const hits = parsed.filter(isClaudeEntry).length
  if (hits === 0) return 0
  return hits * 2 >= parsed.length ? 90 : 50
}

function baseOf(entry: JsonObject, line: number): RecordBase {
  const base: RecordBase = {line}
  const ts = isoToMs(entry.timestamp)
  const id = stringOf(entry.uuid)
  const parentId = stringOf(entry.parentUuid)
  if (ts !== undefined) base.ts = ts
  if (id !== undefined) base.id = id
  if (parentId !== undefined) base.parentId = parentId
  return base
}

function blockRecord(block: JsonObject, kind: string, base: RecordBase): SessionRecord {
  const extra = kind === 'tool_use' || kind === 'tool_result' ? {} : {meta: {blockType: kind}}
  if (kind === 'tool_use' || kind.endsWith('_tool_use')) {
    const callId = stringOf(block.id)
    return {type: 'tool_call', name: stringOf(block.name) ?? kind, args: block.input, ...(callId === undefined ? {} : {callId}), ...base, ...extra}
  }
  const callId = stringOf(block.tool_use_id)
  const isError = typeof block.is_error === 'boolean' ? {isError: block.is_error} : {}
  return {type: 'tool_result', ...(callId === undefined ? {} : {callId}), result: block.content, ...isError, ...base, ...extra}
}

/** The records of a `user` or `assistant` line: messages and tool blocks, in block order. */
function messageRecords(entry: JsonObject, base: RecordBase): SessionRecord[] {
  const message = isObject(entry.message) ? entry.message : {}
  const role = stringOf(message.role) ?? String(entry.type)
  const model = stringOf(message.model)
  const content = message.content
  const blocks: unknown[] = typeof content === 'string' ? [{type: 'text', text: content}] : Array.isArray(content) ? content : []
  const records: SessionRecord[] = []
  let parts: MessagePart[] = []
  const flush = (always: boolean): void => {
    if (parts.length === 0 && !always) return
    records.push({type: 'message', role, parts, ...(model === undefined ? {} : {model}), ...base})
    parts = []
  }
  for (const block of blocks) {
    if (!isObject(block)) {
      parts.push({type: 'data', data: block})
      continue
    }
    const kind = stringOf(block.type) ?? ''
    if (kind === 'text' && typeof block.text === 'string') parts.push({type: 'text', text: block.text})
    else if (kind === 'thinking' && typeof block.thinking === 'string') parts.push({type: 'thinking', text: block.thinking})
    else if (TOOL_BLOCK.test(kind)) {
      flush(false)
      records.push(blockRecord(block, kind, base))
    } else {
      const mime = isObject(block.source) ? stringOf(block.source.media_type) : undefined
      parts.push({type: 'data', ...(mime === undefined ? {} : {mime}), data: block})
    }
  }
  flush(records.length === 0)
  const messageExtra = omit(message, ['role', 'content', 'model'])
  const meta = {...omit(entry, MAPPED_KEYS), ...(messageExtra === undefined ? {} : {message: messageExtra})}
  const [first] = records
  if (first !== undefined && Object.keys(meta).length > 0) records[0] = {...first, meta: {...first.meta, ...meta}}
  return records
}

/** The summary text of a `summary` line: `summary`, or the text of its `message`. */
function summaryText(entry: JsonObject): string | undefined {
  const summary = stringOf(entry.summary)
  if (summary !== undefined) return summary
  return isObject(entry.message) ? stringOf(entry.message.content) : undefined
}

function entryRecords(entry: JsonObject, type: string, line: number): SessionRecord[] {
  const base = baseOf(entry, line)
  if (type === 'user' || type === 'assistant') return messageRecords(entry, base)
  if (type === 'system' && entry.subtype === 'compact_boundary') {
    const meta = omit(entry, [...MAPPED_KEYS, 'subtype'])
    return [{type: 'marker', label: 'compact_boundary', ...base, ...(meta === undefined ? {} : {meta})}]
  }
  if (type === 'summary') {
    const meta = omit(entry, [...MAPPED_KEYS, 'summary'])
    return [{type: 'event', name: 'summary', data: summaryText(entry) ?? entry, ...base, ...(meta === undefined ? {} : {meta})}]
  }
  return [{type: 'event', name: type, data: entry, ...base}]
}

/** The entries of a transcript: JSONL lines, or the items of a `{"loglines": [...]}` document. */
function entriesOf(bytes: Uint8Array): {entries: JsonLine[]; damage: Damage[]} {
  const content = readJson(bytes)
  if (content.shape === 'lines') return {entries: content.items, damage: content.damage}
  const {value} = content
  const entries = isObject(value) && Array.isArray(value.loglines) ? value.loglines.map((item, index) => ({line: index + 1, value: item})) : [{line: 1, value}]
  return {entries, damage: content.damage}
}

function parse(bytes: Uint8Array): ParsedSession {
  const {entries, damage} = entriesOf(bytes)
  const records: SessionRecord[] = []
  const usageByMessage = new Map<string, number>()
  let externalId: string | undefined
  let cwd: string | undefined
  for (const {line, value} of entries) {
    const type = isObject(value) ? stringOf(value.type) : undefined
    if (!isObject(value) || type === undefined) {
      damage.push({line, reason: 'not a Claude Code entry (an object with a "type")'})
      continue
    }
    externalId ??= stringOf(value.sessionId)
    cwd ??= stringOf(value.cwd)
    const message = value.message
    if (type === 'assistant' && isObject(message) && isObject(message.usage)) {
      // Claude Code writes one line per content block of a streamed message, each with the same usage.
      const used = (numberOf(message.usage.input_tokens) ?? 0) + (numberOf(message.usage.output_tokens) ?? 0)
      usageByMessage.set(stringOf(message.id) ?? `line ${line}`, used)
    }
    records.push(...entryRecords(value, type, line))
  }
  const summary = records.find((record): record is EventRecord => record.type === 'event' && record.name === 'summary' && typeof record.data === 'string')
  const skip = (record: MessageRecord): boolean => record.meta?.isMeta === true || record.meta?.isCompactSummary === true
  const title = typeof summary?.data === 'string' ? shortTitle(summary.data) : titleFromFirstUserMessage(records, skip)
  const model = records.find((record): record is MessageRecord => record.type === 'message' && record.role === 'assistant' && record.model !== undefined && record.model !== SYNTHETIC_MODEL)?.model
  const tokens = usageByMessage.size > 0 ? [...usageByMessage.values()].reduce((sum, used) => sum + used, 0) : undefined
  return {
    format: 'claude-code',
    kind: 'agent',
    records,
    output: [],
    meta: compactMeta({
      title,
      model,
      provider: 'anthropic',
      cwd,
      externalId,
      tokens,
      ...timeSpan(records),
    }),
    damage,
  }
}
