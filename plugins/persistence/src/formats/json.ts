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

/**
 * Deepest nesting of arrays and objects that sess reads from an original, in levels. Parsing
 * deeper JSON is safe (JSC's `JSON.parse` does not recurse), but `JSON.stringify` and every walk
 * of a value that recurses overflow the stack between 10,000 and 100,000 levels. Real
 * transcripts nest a few dozen levels; Go's encoding/json stops at 10,000, serde_json at 128.
 */
export const MAX_JSON_DEPTH = 1000

/** Reason given for JSON nested deeper than {@link MAX_JSON_DEPTH}. */
export const TOO_DEEP_DAMAGE = `nested deeper than ${MAX_JSON_DEPTH} levels, the most sess reads`

/** A JSON text whose value nests deeper than {@link MAX_JSON_DEPTH}: reported as damage ({@link TOO_DEEP_DAMAGE}), never read. */
export class JsonTooDeepError extends Error {
  constructor() {
    super(TOO_DEEP_DAMAGE)
  }
}

/**
 * Whether `value` nests arrays and objects more than `limit` levels deep (a scalar is 0 deep,
 * `[]` and `{}` are 1). It stops at the first branch that goes past `limit`, so it never recurses
 * more than `limit + 1` deep.
 */
export function deeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (limit === 0) return true
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (deeperThan(item, limit - 1)) return true
  return false
}

/**
 * `JSON.parse(text)`, refusing values nested deeper than {@link MAX_JSON_DEPTH}.
 *
 * @throws the parser's `SyntaxError` for text that is not JSON; {@link JsonTooDeepError} for a value nested too deep.
 */
export function parseJson(text: string): unknown {
  const value = JSON.parse(text) as unknown
  if (deeperThan(value, MAX_JSON_DEPTH)) throw new JsonTooDeepError()
  return value
}

/** {@link parseJson}, or `undefined` when `text` is not JSON or nests too deep. */
export function tryParse(text: string): unknown {
  try {
    return parseJson(text)
  } catch {
    return undefined
  }
}
