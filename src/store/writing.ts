import type {RedactedPayload} from '../bus/index.ts'
import type {SessConfig} from '../config/file.ts'
import {InvalidInputError} from '../errors/index.ts'
import {isSessionId} from '../session/names.ts'
import type {OutputEvent, SessionRecord} from '../session/types.ts'
import type {StoreContext} from './context.ts'
import {assertOutputEvent, assertRecord} from './validate.ts'

/** The content of one write as `records.writing` carries it: records, output events or a snapshot's bytes. */
export type WritingContent = {records: readonly SessionRecord[]} | {output: readonly OutputEvent[]} | {snapshot: Uint8Array}

/** What {@link beforeWriting} gives back. */
export interface Written<C extends WritingContent> {
  /** The session written to, by id. */
  sessionId: string
  /** The content to write: as given, or as the handlers replaced it. */
  content: C
  /** What the handlers masked, counted by rule; `undefined` when nothing was. */
  redacted: Readonly<Record<string, number>> | undefined
}

/**
 * Runs `records.writing` (see `WritingPayload`) for `content`, about to be written to session
 * `ref`, before the write's transaction. Call it only while `ctx.bus.has('records.writing')`: the
 * store's writes skip it otherwise, and pay nothing for it. A name is resolved to the session's id
 * first (one indexed lookup), so that the handlers and the write that follows name the same
 * session. `content` must already be valid; the handlers' replacements are checked here as a
 * caller's content is.
 *
 * @param settings reads the store's settings, for the handlers.
 * @throws {StorageError} once the store is closed. @throws {NotFoundError} for an unknown session name. @throws {VetoError} when a handler vetoes.
 * @throws {InvalidInputError} when a handler's replacement is not valid content of the same kind
 *   and count (as many records or events as it replaces; a snapshot's bytes as a `Uint8Array`).
 */
export async function beforeWriting<C extends WritingContent>(ctx: StoreContext, ref: string, content: C, settings: () => SessConfig): Promise<Written<C>> {
  ctx.assertOpen()
  const sessionId = isSessionId(ref) ? ref : (await ctx.row(ref)).id
  const payload = await ctx.bus.before('records.writing', {...content, sessionId, settings})
  const redacted = payload.redacted !== undefined && Object.keys(payload.redacted).length > 0 ? payload.redacted : undefined
  if ('records' in content) {
    const records = payload.records
    if (records === content.records) return {content, redacted, sessionId}
    assertReplaced('records', content.records.length, records)
    asReplacement(() => records.forEach((record) => assertRecord(record)))
    return {content: {records} as C, redacted, sessionId}
  }
  if ('output' in content) {
    const output = payload.output
    if (output === content.output) return {content, redacted, sessionId}
    assertReplaced('output events', content.output.length, output)
    asReplacement(() => output.forEach((event) => assertOutputEvent(event)))
    return {content: {output} as C, redacted, sessionId}
  }
  if (!(payload.snapshot instanceof Uint8Array)) throw replacementError('a snapshot\'s state must stay a Uint8Array')
  return {content: {snapshot: payload.snapshot} as C, redacted, sessionId}
}

/**
 * Emits `records.redacted` for a write that committed, when its `records.writing` handlers masked
 * something (`written.redacted`); does nothing otherwise.
 */
export async function reportRedacted(ctx: StoreContext, written: Written<WritingContent> | undefined, kind: RedactedPayload['kind'], seq: number): Promise<void> {
  if (written?.redacted === undefined) return
  await ctx.bus.emit('records.redacted', {kind, redacted: written.redacted, seq, sessionId: written.sessionId})
}

/** @throws {InvalidInputError} unless `replaced` is an array of `count` items. */
function assertReplaced<T>(what: string, count: number, replaced: readonly T[] | undefined): asserts replaced is readonly T[] {
  if (!Array.isArray(replaced) || replaced.length !== count) {
    throw replacementError(`it must replace ${count} ${what} with as many, not ${Array.isArray(replaced) ? replaced.length : typeof replaced}`)
  }
}

/** Runs the check `assert` of replaced content; @throws {InvalidInputError} naming `records.writing` when it fails. */
function asReplacement(assert: () => void): void {
  try {
    assert()
  } catch (error) {
    throw replacementError((error as Error).message.replace(/\.$/, ''))
  }
}

function replacementError(reason: string): InvalidInputError {
  return new InvalidInputError(`A records.writing handler returned content that cannot be written (${reason}); nothing was written.`, {
    hint: 'Fix or uninstall the plugin that handles records.writing (sess plugins).',
  })
}
