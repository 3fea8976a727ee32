import {InvalidInputError} from '../errors/index.ts'
import type {OutputEvent, SessionRecord} from '../session/types.ts'

const RECORD_TYPES = new Set(['message', 'tool_call', 'tool_result', 'state', 'marker', 'event'])
const OUTPUT_CODES = new Set(['o', 'e', 'i', 'r', 'm', 'x'])
const TAG = /^[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,63}$/

/**
 * Checks a record's shape at the API boundary and returns its JSON.
 *
 * @throws {InvalidInputError} naming the field that is wrong.
 */
export function assertRecord(record: SessionRecord): string {
  if (typeof record !== 'object' || record === null) throw new InvalidInputError('A record must be an object.')
  if (!RECORD_TYPES.has(record.type)) {
    throw new InvalidInputError(`Unknown record type ${JSON.stringify(record.type)}.`, {hint: `Use one of: ${[...RECORD_TYPES].join(', ')}.`})
  }
  if (record.ts !== undefined && !Number.isFinite(record.ts)) throw new InvalidInputError('A record\'s ts must be ms since the epoch.')
  if (record.type === 'message' && (typeof record.role !== 'string' || !Array.isArray(record.parts))) {
    throw new InvalidInputError('A message record needs a role (string) and parts (array).')
  }
  if (record.type === 'tool_call' && typeof record.name !== 'string') throw new InvalidInputError('A tool_call record needs a name.')
  if (record.type === 'marker' && typeof record.label !== 'string') throw new InvalidInputError('A marker record needs a label.')
  if (record.type === 'event' && typeof record.name !== 'string') throw new InvalidInputError('An event record needs a name.')
  try {
    return JSON.stringify(record)
  } catch (error) {
    throw new InvalidInputError(`A record must be JSON-serialisable: ${(error as Error).message}`)
  }
}

/** @throws {InvalidInputError} unless `event` is `{time ≥ 0, code in o e i r m x, data: string}`. */
export function assertOutputEvent(event: OutputEvent): void {
  if (typeof event !== 'object' || event === null || !OUTPUT_CODES.has(event.code)) {
    throw new InvalidInputError(`An output event needs a code of ${[...OUTPUT_CODES].join(', ')}.`)
  }
  if (!Number.isFinite(event.time) || event.time < 0) throw new InvalidInputError('An output event\'s time must be seconds ≥ 0.')
  if (typeof event.data !== 'string') throw new InvalidInputError('An output event\'s data must be a string.')
}

/** Whether `tag` is 1–64 of `A–Z a–z 0–9 . _ : / = + -` starting with a letter or digit. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag)
}

/**
 * The distinct tags of `tags`.
 *
 * @throws {InvalidInputError} for a tag that is not valid ({@link isValidTag}).
 */
export function assertTags(tags: string[]): string[] {
  for (const tag of tags) {
    if (!isValidTag(tag)) {
      throw new InvalidInputError(`Invalid tag ${JSON.stringify(tag)}.`, {hint: 'A tag is 1–64 of A–Z a–z 0–9 . _ : / = + - starting with a letter or digit.'})
    }
  }
  return [...new Set(tags)]
}

/** Bytes of a snapshot: a `Uint8Array` as is, a string as UTF-8, anything else as JSON. */
export function encodeState(state: unknown): Uint8Array {
  if (state instanceof Uint8Array) return state
  if (typeof state === 'string') return new TextEncoder().encode(state)
  const json = JSON.stringify(state)
  if (json === undefined) throw new InvalidInputError('A snapshot must be bytes, a string or a JSON value.')
  return new TextEncoder().encode(json)
}
