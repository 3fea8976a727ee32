/**
 * ## sess JSONL
 *
 * sess's own format: what `sess restore --format sess` writes and `sess save` reads back without
 * loss. UTF-8 [JSON Lines](https://jsonlines.org/): one JSON value per line, each line ending in `\n`.
 *
 * 1. **Header** (line 1): `{"sess": 1, "session": {…}}`. `sess` is the format version (1). `session`
 *    holds the session's metadata: `id` (ULID), `name`, `kind`, `status`, `tags` (array),
 *    `title`, `model`, `provider`, `cwd`, `parentId`, `format` (of the original it was imported
 *    from), `externalId` (the originating tool's id), `createdAt` and `lastActivityAt` (ms since
 *    the Unix epoch). Unknown values are `null`.
 * 2. **Records**, one line each, in transcript order: the record as stored, with a `type` of
 *    `message` (`role`, `parts`: `{type: "text"|"thinking", text}` or `{type: "data", mime?, data}`),
 *    `tool_call` (`name`, `args`, `callId?`, `result?`, `isError?`), `tool_result` (`callId?`,
 *    `result`, `isError?`), `state` (`state` object), `marker` (`label`) or `event` (`name`,
 *    `data`). Any record may carry `ts` (ms since the epoch), `id`, `parentId`, `line` (in the
 *    original it came from) and `meta` (source-specific fields). Types: `src/session/types.ts`.
 * 3. **Output events**, one line each, in time order, after the records:
 *    `{"type": "output", "time": 1.5, "code": "o", "data": "…"}`, `time` in seconds since the
 *    start of the recording, `code` one of `o` stdout, `e` stderr, `i` input, `r` resize
 *    (`COLSxROWS`), `m` marker, `x` exit status.
 *
 * ```jsonl
 * {"sess":1,"session":{"id":"01J…","name":"fix-login","kind":"agent","status":"completed","tags":[],"title":"Fix the login bug","model":"claude-sonnet-4","provider":"anthropic","cwd":"/home/me/app","parentId":null,"format":"claude-code","externalId":"0609…","createdAt":1765872000000,"lastActivityAt":1765875600000}}
 * {"type":"message","role":"user","parts":[{"type":"text","text":"Fix the login bug"}],"ts":1765872000000}
 * {"type":"tool_call","name":"Read","args":{"file_path":"src/auth.py"},"callId":"toolu_1"}
 * {"type":"output","time":0.25,"code":"o","data":"ok\r\n"}
 * ```
 *
 * Readers skip and report a line that is not JSON or not one of these shapes, and keep the rest.
 *
 * @packageDocumentation
 */
import type {DetectInput, ExportSession, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {OutputCode, OutputEvent, Session, SessionRecord} from '../../../../src/session/types.ts'
import {isObject, type JsonObject, numberOf, stringOf} from './json.ts'
import {readJsonLines} from './lines.ts'
import {compactMeta} from './meta.ts'

/** Version of the sess JSONL format this module reads and writes (the header's `sess`). */
export const SESS_VERSION = 1

/** The session fields of the header, in the order they are written. */
export const HEADER_FIELDS = [
  'id',
  'name',
  'kind',
  'status',
  'tags',
  'title',
  'model',
  'provider',
  'cwd',
  'parentId',
  'format',
  'externalId',
  'createdAt',
  'lastActivityAt',
] as const satisfies readonly (keyof Session)[]

/** Line 1 of a sess JSONL file: the format version and the session's metadata. */
export interface SessHeader {
  sess: typeof SESS_VERSION
  session: Pick<Session, (typeof HEADER_FIELDS)[number]>
}

/** An output event as written on its line: an {@link OutputEvent} tagged `type: "output"`. */
export type OutputLine = {type: 'output'} & OutputEvent

/** sess native JSONL (DESIGN §6): header, records, output events. See the format description above. */
export const sessFormat: FormatAdapter = {
  name: 'sess',
  description: 'sess native JSONL (header, transcript records, output events)',
  extension: '.jsonl',
  detect,
  parse,
  serialize,
}

const CODES: ReadonlySet<string> = new Set<OutputCode>(['o', 'e', 'i', 'r', 'm', 'x'])
const encoder = new TextEncoder()

function isHeader(value: unknown): value is JsonObject & {session: JsonObject} {
  return isObject(value) && 'sess' in value && isObject(value.session)
}

function detect({head}: DetectInput): number {
  const [first] = head
  return isHeader(first) && first.sess === SESS_VERSION ? 100 : 0
}

/** Whether `value` has the fields its record `type` requires. */
function isRecord(value: JsonObject): value is JsonObject & SessionRecord {
  switch (value.type) {
    case 'message':
      return typeof value.role === 'string' && Array.isArray(value.parts)
    case 'tool_call':
      return typeof value.name === 'string'
    case 'tool_result':
      return true
    case 'state':
      return isObject(value.state)
    case 'marker':
      return typeof value.label === 'string'
    case 'event':
      return typeof value.name === 'string'
    default:
      return false
  }
}

function outputOf(value: JsonObject): OutputEvent | undefined {
  const time = numberOf(value.time)
  const code = stringOf(value.code)
  if (time === undefined || code === undefined || !CODES.has(code) || typeof value.data !== 'string') return undefined
  return {time, code: code as OutputCode, data: value.data}
}

function parse(bytes: Uint8Array): ParsedSession {
  const {items, damage} = readJsonLines(bytes)
  const [first] = items
  const header = isHeader(first?.value) ? first.value : undefined
  if (first !== undefined && header === undefined) damage.push({line: first.line, reason: 'missing sess header ({"sess": 1, "session": {…}}) on line 1'})
  if (first !== undefined && header !== undefined && header.sess !== SESS_VERSION) {
    damage.push({line: first.line, reason: `sess format version ${JSON.stringify(header.sess)}; this reader knows ${SESS_VERSION}`})
  }
  const records: SessionRecord[] = []
  const output: OutputEvent[] = []
  for (const {line, value} of header === undefined ? items : items.slice(1)) {
    const event = isObject(value) && value.type === 'output' ? outputOf(value) : undefined
    if (event !== undefined) output.push(event)
    else if (isObject(value) && isRecord(value)) records.push(value)
    else damage.push({line, reason: 'not a sess record or output event'})
  }
  const session = header?.session ?? {}
  const text = (key: string): string | undefined => stringOf(session[key])
  return {
    format: 'sess',
    kind: text('kind') ?? 'unknown',
    records,
    output,
    meta: compactMeta({
      name: text('name'),
      tags: Array.isArray(session.tags) ? session.tags.filter((tag): tag is string => typeof tag === 'string') : undefined,
      title: text('title'),
      model: text('model'),
      provider: text('provider'),
      cwd: text('cwd'),
      externalId: text('externalId'),
      createdAt: numberOf(session.createdAt),
      lastActivityAt: numberOf(session.lastActivityAt),
    }),
    damage,
  }
}

/** Writes the header, then every record as stored, then every output event tagged `type: "output"`. */
function serialize({session, records, output}: ExportSession): Uint8Array {
  const header: SessHeader = {sess: SESS_VERSION, session: Object.fromEntries(HEADER_FIELDS.map((key) => [key, session[key]])) as SessHeader['session']}
  const outputLines = output.map((event): OutputLine => ({type: 'output', ...event}))
  const text = [header, ...records, ...outputLines].map((line) => JSON.stringify(line)).join('\n')
  return encoder.encode(`${text}\n`)
}
