import {RULES} from './rules.ts'

/** Values masked, counted by rule name (never the values themselves). */
export type RedactionCounts = Record<string, number>

/** What {@link redactText} gives back. */
export interface RedactedText {
  /** The text with every secret replaced by `[REDACTED:<rule>]`; the same string when nothing matched. */
  text: string
  /** How many values each rule masked; rules that masked nothing are absent. */
  counts: RedactionCounts
}

/** What {@link redactBytes} gives back. */
export interface RedactedBytes {
  /** The bytes with every secret replaced; the same array when nothing matched. */
  bytes: Uint8Array
  counts: RedactionCounts
}

/** Every rule as one alternation, for a single pass; rule `i`'s secret is capturing group `i + 1`. */
const COMBINED = new RegExp(RULES.map((rule) => `(?:${rule.pattern})`).join('|'), 'g')

/** The replacement of a secret found by rule `name`. */
export function placeholder(name: string): string {
  return `[REDACTED:${name}]`
}

/**
 * Masks the secrets in `text` (see {@link RULES}) in one pass over it, in time linear in its
 * length (each rule's pattern is linear by construction). Each secret becomes
 * `[REDACTED:<rule>]`; the text around it is kept as it is. Where two matches would overlap, the
 * one that starts first wins, and at the same place the rule listed first.
 */
export function redactText(text: string): RedactedText {
  const counts: RedactionCounts = {}
  const masked = text.replace(COMBINED, (match: string, ...groups: unknown[]) => {
    const index = groups.findIndex((group, i) => i < RULES.length && group !== undefined)
    const rule = RULES[index]!
    const secret = groups[index] as string
    if (rule.accept && !rule.accept(secret)) return match
    counts[rule.name] = (counts[rule.name] ?? 0) + 1
    return match.slice(0, match.length - secret.length) + placeholder(rule.name)
  })
  return {counts, text: Object.keys(counts).length === 0 ? text : masked}
}

/**
 * Masks the secrets in `bytes` (any encoding that is ASCII-compatible: UTF-8, Latin-1), as
 * {@link redactText} does. The bytes are read as Latin-1, one character per byte, so bytes that
 * are not valid UTF-8 pass through unchanged, and every byte outside a secret is kept exactly.
 */
export function redactBytes(bytes: Uint8Array): RedactedBytes {
  const {counts, text} = redactText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'))
  if (Object.keys(counts).length === 0) return {bytes, counts}
  return {bytes: new Uint8Array(Buffer.from(text, 'latin1')), counts}
}

/** What {@link redactJson} gives back. */
export interface RedactedJson<T> {
  /** The value as its masked JSON text parses back; `value` itself when nothing matched. */
  value: T
  counts: RedactionCounts
}

/**
 * Masks the secrets in `value` as they appear in its JSON text (`JSON.stringify`), in one pass of
 * {@link redactText} over that text, and parses the masked text back: every string in it, at any
 * depth, keys included. The masked text is still valid JSON with the same structure (a
 * placeholder holds no quote or backslash, and a match never splits an escape), so only string
 * contents change. What JSON does not keep (`undefined` members) is dropped, as storing the value
 * as JSON drops it anyway.
 *
 * @throws {TypeError} when `value` cannot be written as JSON (a cycle, a BigInt).
 * @throws {SyntaxError} should the masked text not parse (a rule that broke an escape: a bug).
 */
export function redactJson<T>(value: T): RedactedJson<T> {
  const {counts, text} = redactText(JSON.stringify(value))
  if (Object.keys(counts).length === 0) return {counts, value}
  return {counts, value: JSON.parse(text) as T}
}
