/**
 * Helpers that derive a session's {@link ParsedMeta} from the records an adapter produced
 * (DESIGN §2: title, timestamps), shared by the adapters of this folder.
 *
 * @packageDocumentation
 */
import type {ParsedMeta} from '../../../../src/session/format.ts'
import type {MessageRecord, SessionRecord} from '../../../../src/session/types.ts'

/** Longest title derived from a message, in characters. */
export const TITLE_LENGTH = 80

/** {@link ParsedMeta} fields, each possibly `undefined` while an adapter gathers them. */
export type MetaDraft = {[K in keyof ParsedMeta]?: ParsedMeta[K] | undefined}

/** `draft` without its `undefined` fields, so that absent metadata stays absent (also in JSON). */
export function compactMeta(draft: MetaDraft): ParsedMeta {
  return Object.fromEntries(Object.entries(draft).filter(([, value]) => value !== undefined)) as ParsedMeta
}

/** Earliest and latest `ts` of `records` (ms since the epoch) as `createdAt` and `lastActivityAt`. */
export function timeSpan(records: readonly SessionRecord[]): Pick<MetaDraft, 'createdAt' | 'lastActivityAt'> {
  let createdAt: number | undefined
  let lastActivityAt: number | undefined
  for (const {ts} of records) {
    if (ts === undefined) continue
    if (createdAt === undefined || ts < createdAt) createdAt = ts
    if (lastActivityAt === undefined || ts > lastActivityAt) lastActivityAt = ts
  }
  return {createdAt, lastActivityAt}
}

/** The text parts of a message, joined by blank lines. */
export function messageText(record: MessageRecord): string {
  return record.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n\n')
}

/**
 * Whether a user message is context a tool injected rather than something a person typed: text
 * that opens with an XML-like tag and ends with a closing one, e.g. Codex's
 * `<environment_context>…</environment_context>` or Claude Code's `<command-name>…</command-args>`.
 */
export function isInjectedContext(text: string): boolean {
  return /^\s*<[A-Za-z][\w-]*(\s[^>]*)?>[\s\S]*<\/[A-Za-z][\w-]*>\s*$/.test(text)
}

/** `text` on one line (runs of whitespace become one space), cut to {@link TITLE_LENGTH} characters. */
export function shortTitle(text: string): string | undefined {
  const line = text.replaceAll(/\s+/g, ' ').trim()
  if (line === '') return undefined
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line
}

/**
 * A title from the first user message a person typed: not injected context, not one `skip` rejects
 * (e.g. Claude Code's `isMeta` lines), cut by {@link shortTitle}.
 */
export function titleFromFirstUserMessage(records: readonly SessionRecord[], skip?: (record: MessageRecord) => boolean): string | undefined {
  for (const record of records) {
    if (record.type !== 'message' || record.role !== 'user' || skip?.(record) === true) continue
    const text = messageText(record)
    if (text.trim() !== '' && !isInjectedContext(text)) return shortTitle(text)
  }
  return undefined
}
