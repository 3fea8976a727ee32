import type {DetectInput, FormatAdapter, ParsedSession} from '../../../../src/session/format.ts'
import type {SessionRecord} from '../../../../src/session/types.ts'
import {readJson} from './lines.ts'

/**
 * The fallback for any other well-formed JSON or JSONL file (DESIGN §6, "raw"): e.g. another
 * agent's log, or `corpus/other/`. The session keeps the original bytes (the store does) and one
 * `event` record named `raw` per JSONL line, per top-level array item of a JSON array, or one for
 * a JSON document that is not an array; `data` is the parsed value and `line` the line or item
 * number. Detection gives the lowest confidence (1) to anything that starts with JSON, so it only
 * wins when no other format recognises the file, and only where raw imports are allowed.
 */
export const rawFormat: FormatAdapter = {
  name: 'raw',
  description: 'any other JSON or JSONL file, kept as an opaque session (one record per line or item)',
  extension: '.json',
  detect,
  parse,
}

/** Name of the raw fallback format, which `detectFormat` only picks when raw imports are allowed. */
export const RAW_FORMAT = rawFormat.name

/** The notice of every session read as raw. */
export const RAW_NOTICE = 'format not recognised: kept as an opaque session (original bytes, one record per line)'

function detect({head, document}: DetectInput): number {
  return document !== undefined || head.some((value) => value !== undefined) ? 1 : 0
}

function parse(bytes: Uint8Array): ParsedSession {
  const content = readJson(bytes)
  const items =
    content.shape === 'lines'
      ? content.items
      : Array.isArray(content.value)
        ? content.value.map((value: unknown, index) => ({line: index + 1, value}))
        : [{line: 1, value: content.value}]
  const records = items.map(({line, value}): SessionRecord => ({type: 'event', name: 'raw', data: value, line}))
  return {format: RAW_FORMAT, kind: 'raw', records, output: [], meta: {}, damage: content.damage, notice: RAW_NOTICE}
}
