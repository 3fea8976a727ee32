import type {DetectInput, ExportSession, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {Damage, OutputCode, OutputEvent, SessionRecord} from '../../../../src/session/types.ts'
import {isObject, type JsonObject, numberOf, stringOf} from './json.ts'
import {type JsonLine, readJsonLines} from './lines.ts'
import {compactMeta} from './meta.ts'

/**
 * asciinema's terminal recordings, asciicast v2 and v3 (DESIGN §6), after the specifications at
 * https://docs.asciinema.org/manual/asciicast/v2/ and https://docs.asciinema.org/manual/asciicast/v3/.
 * Line 1 is a header object: v2 `{version: 2, width, height, timestamp?, title?, env?, theme?…}`,
 * v3 `{version: 3, term: {cols, rows, type?, theme?…}, timestamp?, title?…}`; every other line is
 * an event `[time, code, data]` with `code` one of `o` (output), `i` (input), `r` (resize,
 * `COLSxROWS`), `m` (marker), `x` (exit status). In v2 `time` is seconds since the start; in v3 it
 * is seconds since the previous event. v3 lines starting with `#` are comments.
 *
 * Parsing gives a `terminal` session: `output` holds the events with absolute times in seconds (v3
 * intervals summed in whole microseconds, asciinema's own resolution), and `records` one `state`
 * record of the header with `width` and `height` set for both versions. A malformed event is damage
 * and skipped; a negative or decreasing time is damage and the event kept at the previous time.
 *
 * Serializing writes asciicast v2 ({@link serializeV3} writes v3); sess's `e` (stderr) events are
 * written as `o`, the only output code asciicast has.
 */
export const asciicastFormat: FormatAdapter = {
  name: 'asciicast',
  description: 'asciinema recording, asciicast v2 or v3 (.cast)',
  extension: '.cast',
  detect,
  parse,
  serialize,
}

/** Terminal size written when a session does not say: 80 columns, 24 rows. */
export const DEFAULT_SIZE = {width: 80, height: 24} as const

const CODES: ReadonlySet<string> = new Set<OutputCode>(['o', 'e', 'i', 'r', 'm', 'x'])
const MICROS = 1_000_000
const encoder = new TextEncoder()

interface Header {
  version: 2 | 3
  width: number
  height: number
  fields: JsonObject
}

/** The header of `value` if it is an asciicast v2 or v3 header. */
function headerOf(value: unknown): Header | undefined {
  if (!isObject(value)) return undefined
  if (value.version === 2) {
    const width = numberOf(value.width)
    const height = numberOf(value.height)
    return width === undefined || height === undefined ? undefined : {version: 2, width, height, fields: value}
  }
  if (value.version === 3 && isObject(value.term)) {
    const width = numberOf(value.term.cols)
    const height = numberOf(value.term.rows)
    return width === undefined || height === undefined ? undefined : {version: 3, width, height, fields: value}
  }
  return undefined
}

function detect({head}: DetectInput): number {
  return headerOf(head[0]) === undefined ? 0 : 95
}

function isEvent(value: unknown): value is [number, string, string, ...unknown[]] {
  return Array.isArray(value) && value.length >= 3 && numberOf(value[0]) !== undefined && typeof value[1] === 'string' && typeof value[2] === 'string'
}

function parse(bytes: Uint8Array): ParsedSession {
  const {items, damage} = readJsonLines(bytes, {comments: true})
  const [first] = items
  const header = headerOf(first?.value)
  const records: SessionRecord[] = []
  if (first !== undefined && header === undefined) {
    damage.push({line: first.line, reason: 'missing asciicast header (a {"version": 2 or 3, …} object first); events read as v2'})
  }
  if (first !== undefined && header !== undefined) {
    records.push({type: 'state', state: {...header.fields, width: header.width, height: header.height}, line: first.line})
  }
  const output = readEvents(header === undefined ? items : items.slice(1), header?.version === 3, damage)
  const createdAt = numberOf(header?.fields.timestamp)
  const duration = output.at(-1)?.time ?? 0
  return {
    format: 'asciicast',
    kind: 'terminal',
    records,
    output,
    meta: compactMeta({
      title: stringOf(header?.fields.title),
      createdAt: createdAt === undefined ? undefined : createdAt * 1000,
      lastActivityAt: createdAt === undefined ? undefined : Math.round((createdAt + duration) * 1000),
    }),
    damage,
  }
}

/** The events of `items` with absolute times; v3 intervals are summed. Pushes problems to `damage`. */
function readEvents(items: readonly JsonLine[], intervals: boolean, damage: Damage[]): OutputEvent[] {
  const output: OutputEvent[] = []
  let micros = 0
  let previous = 0
  for (const {line, value} of items) {
    if (!isEvent(value)) {
      damage.push({line, reason: 'not an asciicast event ([time, code, data])'})
      continue
    }
    const [time, code, data] = value
    if (!CODES.has(code)) {
      damage.push({line, reason: `unsupported event code ${JSON.stringify(code)}`})
      continue
    }
    let absolute: number
    if (intervals) {
      if (time < 0) damage.push({line, reason: `negative interval ${time}; counted as 0`})
      micros += Math.max(0, Math.round(time * MICROS))
      absolute = micros / MICROS
    } else if (time < previous) {
      damage.push({line, reason: `time ${time} is before the previous event (${previous}); clamped`})
      absolute = previous
    } else {
      absolute = time
    }
    previous = absolute
    output.push({time: absolute, code: code as OutputCode, data})
  }
  return output
}

/** Terminal size: the last resize before the first output, else a `state` record's, else {@link DEFAULT_SIZE}. */
function terminalSize({records, output}: ExportSession): {width: number; height: number} {
  const firstOutput = output.findIndex((event) => event.code === 'o' || event.code === 'e')
  const resizes = (firstOutput === -1 ? output : output.slice(0, firstOutput)).filter((event) => event.code === 'r')
  const resize = /^(\d+)x(\d+)$/.exec(resizes.at(-1)?.data ?? '')
  if (resize !== null) return {width: Number(resize[1]), height: Number(resize[2])}
  for (const record of records) {
    if (record.type !== 'state') continue
    const width = numberOf(record.state.width) ?? numberOf(record.state.cols)
    const height = numberOf(record.state.height) ?? numberOf(record.state.rows)
    if (width !== undefined && height !== undefined) return {width, height}
  }
  return DEFAULT_SIZE
}

/** Header fields both versions share: start time (whole seconds since the epoch) and title. */
function commonHeader({session}: ExportSession): JsonObject {
  return {timestamp: Math.floor(session.createdAt / 1000), ...(session.title === null ? {} : {title: session.title})}
}

function lines(header: JsonObject, events: readonly (readonly [number, OutputCode, string])[]): Uint8Array {
  const text = [header, ...events].map((line) => JSON.stringify(line)).join('\n')
  return encoder.encode(`${text}\n`)
}

/** Rounds seconds to whole microseconds, the 6 decimals asciinema writes. */
function toMicros(seconds: number): number {
  return Math.round(seconds * MICROS)
}

function asciicastCode(code: OutputCode): OutputCode {
  return code === 'e' ? 'o' : code
}

/**
 * Writes `session` as asciicast v2: header `{version: 2, width, height, timestamp, title?}` (size
 * from {@link terminalSize}), then one `[time, code, data]` line per output event, `time` in
 * seconds since the start rounded to 6 decimals. Exit events (`x`) are left out: v2 has no such
 * event type (https://docs.asciinema.org/manual/asciicast/v2/), only v3 does.
 */
function serialize(session: ExportSession): Uint8Array {
  const {width, height} = terminalSize(session)
  const events = session.output.filter((event) => event.code !== 'x').map((event) => [toMicros(event.time) / MICROS, asciicastCode(event.code), event.data] as const)
  return lines({version: 2, width, height, ...commonHeader(session)}, events)
}

/**
 * Writes `session` as asciicast v3 (`sess restore --format asciicast --asciicast-version 3`): header
 * `{version: 3, term: {cols, rows}, timestamp, title?}`, then `[interval, code, data]` lines, each
 * interval the seconds since the previous event, to 6 decimals (never negative).
 */
export function serializeV3(session: ExportSession): Uint8Array {
  const {width, height} = terminalSize(session)
  let previous = 0
  const events = session.output.map((event) => {
    const micros = Math.max(previous, toMicros(event.time))
    const interval = (micros - previous) / MICROS
    previous = micros
    return [interval, asciicastCode(event.code), event.data] as const
  })
  return lines({version: 3, term: {cols: width, rows: height}, ...commonHeader(session)}, events)
}
