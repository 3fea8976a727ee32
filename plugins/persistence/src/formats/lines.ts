/**
 * The tolerant JSON and JSONL reader shared by every adapter of this folder (DESIGN §6: a torn last
 * line, a BOM or invalid UTF-8 in one record must not lose the rest of the session).
 *
 * JSONL is read line by line on the raw bytes: lines end at `\n` (a `\r` before it is dropped), each
 * line is decoded on its own with a fatal UTF-8 decoder and parsed on its own, so one bad line is
 * reported as damage and skipped while every other line survives.
 *
 * @packageDocumentation
 */
import type {DetectInput} from '../../../../src/session/format.ts'
import type {Damage} from '../../../../src/session/types.ts'
import {JsonTooDeepError, parseJson, TOO_DEEP_DAMAGE, tryParse} from './json.ts'

/** One parsed line of a JSONL file: its 1-based line number and its JSON value. */
export interface JsonLine {
  line: number
  value: unknown
}

/** What {@link readJsonLines} makes of a file: the lines that parsed, and the damage. */
export interface JsonLines {
  items: JsonLine[]
  damage: Damage[]
}

/** What {@link readJsonDocument} makes of a file: the value (`ok`), or only the damage. */
export type JsonDocument = {ok: true; value: unknown; damage: Damage[]} | {ok: false; damage: Damage[]}

/**
 * A file read by {@link readJson}: one JSON `document` (a `.json` file, or a JSONL file of one line),
 * or `lines` (JSONL; also the result, with no items, when nothing could be read at all).
 */
export type JsonContent = ({shape: 'document'; value: unknown} | {shape: 'lines'; items: JsonLine[]}) & {damage: Damage[]}

/** Options of {@link readJsonLines}. */
export interface ReadLinesOptions {
  /** Skip lines starting with `#` silently (asciicast v3 comments). Default `false`. */
  comments?: boolean
}

/** Reason given for a UTF-8 byte-order mark at the start of a file. */
export const BOM_DAMAGE = 'UTF-8 byte-order mark ignored'
/** Reason given for a last line without newline that does not decode or parse: an interrupted write. */
export const TORN_DAMAGE = 'torn last line (no newline, incomplete JSON)'
/** Reason given for a line that is not valid UTF-8. */
export const UTF8_DAMAGE = 'invalid UTF-8'
/** Reason given for a file with nothing but whitespace in it. */
export const EMPTY_DAMAGE = 'empty file'

/** How many non-empty lines {@link sniff} parses for {@link DetectInput.head}. */
export const HEAD_LINES = 8

const strictUtf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})
const lenientUtf8 = new TextDecoder('utf-8', {fatal: false, ignoreBOM: true})

interface RawLine {
  line: number
  bytes: Uint8Array
  /** Whether a `\n` ended it (`false` only for a last line without newline). */
  terminated: boolean
}

/** The bytes after a leading UTF-8 BOM, and the damage that reports it. */
function stripBom(bytes: Uint8Array): {body: Uint8Array; damage: Damage[]} {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return {body: bytes.subarray(3), damage: [{line: 1, reason: BOM_DAMAGE}]}
  return {body: bytes, damage: []}
}

/** Splits `body` into lines without copying; line numbers count every line, blank ones included. */
function* splitLines(body: Uint8Array): Generator<RawLine> {
  let start = 0
  let line = 0
  while (start < body.length) {
    const newline = body.indexOf(0x0a, start)
    const end = newline === -1 ? body.length : newline
    const contentEnd = end > start && body[end - 1] === 0x0d ? end - 1 : end
    line++
    yield {line, bytes: body.subarray(start, contentEnd), terminated: newline !== -1}
    start = end + 1
  }
}

function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** The JSON parser's message without its prefix, at most 80 characters. */
function parserMessage(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/^JSON Parse error:\s*/, '')
  return message.length > 80 ? `${message.slice(0, 79)}…` : message
}

/**
 * Reads JSONL tolerantly. A BOM is dropped (damage on line 1, {@link BOM_DAMAGE}); blank lines are
 * skipped silently; a line that is not UTF-8 ({@link UTF8_DAMAGE}), not JSON (`invalid JSON: …`) or
 * nested deeper than `MAX_JSON_DEPTH` is reported and skipped; a last line without newline that fails is reported as torn
 * ({@link TORN_DAMAGE}); a file without any non-blank line is reported as {@link EMPTY_DAMAGE}.
 */
export function readJsonLines(bytes: Uint8Array, options: ReadLinesOptions = {}): JsonLines {
  const {body, damage} = stripBom(bytes)
  const items: JsonLine[] = []
  let nonBlank = 0
  for (const {line, bytes: lineBytes, terminated} of splitLines(body)) {
    const text = decodeStrict(lineBytes)
    if (text === undefined) {
      nonBlank++
      damage.push({line, reason: terminated ? UTF8_DAMAGE : TORN_DAMAGE})
      continue
    }
    if (text.trim() === '') continue
    nonBlank++
    if (options.comments === true && text.startsWith('#')) continue
    try {
      items.push({line, value: parseJson(text)})
    } catch (error) {
      damage.push({line, reason: error instanceof JsonTooDeepError ? error.message : terminated ? `invalid JSON: ${parserMessage(error)}` : TORN_DAMAGE})
    }
  }
  if (nonBlank === 0) damage.push({line: null, reason: EMPTY_DAMAGE})
  return {items, damage}
}

/**
 * Reads a whole file as one JSON value (BOM-tolerant). Invalid UTF-8 does not lose the document: the
 * bad bytes become U+FFFD and each line holding some is reported. Returns `ok: false` with the
 * damage when the text is empty, not JSON (line `null`: the parser does not say where) or nested
 * deeper than `MAX_JSON_DEPTH`.
 */
export function readJsonDocument(bytes: Uint8Array): JsonDocument {
  const {body, damage} = stripBom(bytes)
  let text = decodeStrict(body)
  if (text === undefined) {
    text = lenientUtf8.decode(body)
    for (const {line, bytes: lineBytes} of splitLines(body)) {
      if (decodeStrict(lineBytes) === undefined) damage.push({line, reason: `${UTF8_DAMAGE} (replaced with U+FFFD)`})
    }
  }
  if (text.trim() === '') return {ok: false, damage: [...damage, {line: null, reason: EMPTY_DAMAGE}]}
  try {
    return {ok: true, value: parseJson(text), damage}
  } catch (error) {
    return {ok: false, damage: [...damage, {line: null, reason: error instanceof JsonTooDeepError ? error.message : `invalid JSON: ${parserMessage(error)}`}]}
  }
}

/** The first character of `body` (a BOM already stripped) that is not JSON whitespace. */
function firstChar(body: Uint8Array): string | undefined {
  for (const byte of body) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return String.fromCharCode(byte)
  }
  return undefined
}

/** The first `limit` non-blank lines of `body`, each parsed (`undefined` where it is not JSON). */
function headOf(body: Uint8Array, limit: number): unknown[] {
  const head: unknown[] = []
  for (const {bytes} of splitLines(body)) {
    const text = decodeStrict(bytes)
    if (text !== undefined && text.trim() === '') continue
    head.push(text === undefined ? undefined : tryParse(text))
    if (head.length >= limit) break
  }
  return head
}

/**
 * Reads a file that may be JSON or JSONL. It is a `document` when it holds exactly one JSON value
 * (pretty-printed or on one line); otherwise `lines`, read by {@link readJsonLines} (so a one-line
 * file that does not parse is reported line by line, e.g. as torn). A file of several lines that
 * starts like JSON (`{`/`[`) but parses neither as a whole nor mostly line by line is reported as a
 * broken document (shape `lines`, no items).
 */
export function readJson(bytes: Uint8Array): JsonContent {
  const {body} = stripBom(bytes)
  const head = headOf(body, 2)
  const multiLine = head[0] !== undefined && head.length > 1
  const opener = firstChar(body)
  if (multiLine || (opener !== '{' && opener !== '[')) return {shape: 'lines', ...readJsonLines(bytes)}
  const document = readJsonDocument(bytes)
  if (document.ok) return {shape: 'document', value: document.value, damage: document.damage}
  const lines = readJsonLines(bytes)
  const jsonl = head.length <= 1 || lines.items.length > lines.damage.length
  return jsonl ? {shape: 'lines', ...lines} : {shape: 'lines', items: [], damage: document.damage}
}

/**
 * Builds the {@link DetectInput} of a candidate file cheaply: `head` holds at most
 * {@link HEAD_LINES} non-empty lines parsed (`undefined` for unparsable ones), so a large JSONL file
 * is never decoded as a whole; `document` is the whole file parsed, attempted only when the file
 * starts with `{` or `[` and is not several JSON values on separate lines.
 */
export function sniff(bytes: Uint8Array, path?: string): DetectInput {
  const {body} = stripBom(bytes)
  const head = headOf(body, HEAD_LINES)
  const input: DetectInput = {bytes, head, ...(path === undefined ? {} : {path})}
  const opener = firstChar(body)
  if ((opener !== '{' && opener !== '[') || (head[0] !== undefined && head.length > 1)) return input
  if (head.length === 1 && head[0] !== undefined) return {...input, document: head[0]}
  const document = readJsonDocument(bytes)
  return document.ok ? {...input, document: document.value} : input
}

/**
 * Why bytes that no format recognised are not a session, in a few words: `the file is empty`, its
 * JSON nests deeper than `MAX_JSON_DEPTH` (looked for only in text that starts like JSON), or
 * `not a recognised session format`.
 */
export function unreadable(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty'
  const opener = firstChar(stripBom(bytes).body)
  const tooDeep = (opener === '{' || opener === '[') && readJson(bytes).damage.some((damage) => damage.reason === TOO_DEEP_DAMAGE)
  return tooDeep ? `the JSON is ${TOO_DEEP_DAMAGE}` : 'not a recognised session format'
}
