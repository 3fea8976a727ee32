/**
 * Small type guards for values that come out of `JSON.parse` (typed `unknown`), shared by the
 * format adapters of this folder (DESIGN §6). Nothing here throws.
 *
 * @packageDocumentation
 */

/** A parsed JSON object: string keys, values not yet checked. */
export type JsonObject = Record<string, unknown>

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `value` if it is a string, else `undefined`. */
export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** `value` if it is a finite number, else `undefined`. */
export function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/** An ISO 8601 timestamp string as milliseconds since the Unix epoch, or `undefined` if `value` is not one. */
export function isoToMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/** A copy of `object` without `keys`, or `undefined` when nothing is left. */
export function omit(object: JsonObject, keys: readonly string[]): JsonObject | undefined {
  const rest = Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)))
  return Object.keys(rest).length > 0 ? rest : undefined
}

/** `JSON.parse(text)`, or `undefined` when `text` is not JSON. */
export function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
