import type {BeforeContext, SavingPayload, SessPlugin, WritingPayload} from '../../../src/bus/index.ts'
import type {SessConfig} from '../../../src/config/file.ts'
import {redactEnabled} from './config.ts'
import {type RedactionCounts, redactBytes, redactJson} from './redact.ts'

export {REDACT_SETTINGS} from './config.ts'
export {placeholder, type RedactedBytes, type RedactedJson, type RedactedText, type RedactionCounts, redactBytes, redactJson, redactText} from './redact.ts'
export {type RedactRule, RULES} from './rules.ts'

/**
 * Order of the redact plugin's handlers (`session.saving`, `records.writing`): before every other
 * handler (format handlers run at 1000), so that no handler sees, parses or keeps the secrets.
 */
export const REDACT_HANDLER_ORDER = -1000

/**
 * The redact plugin's bus handlers. When the setting `redact.enabled` is true, they mask
 * credentials (see `RULES`) before anything stores them, and add what they masked, counted by
 * rule, to the payload's `redacted`:
 * - on `session.saving`, in the original's bytes, before anything parses them (the counts become
 *   the save's `SaveResult.redacted`);
 * - on `records.writing`, in what the library writes besides saves: records (`store.append`, in
 *   their JSON), output events (`store.appendOutput`, `sess record`: in their JSON, one call's
 *   events at once) and a snapshot's bytes (`store.snapshot`). The store reports the counts of a
 *   committed write with `records.redacted`.
 *
 * It fails closed: when it cannot read the settings or mask the content, or when a handler ran
 * before it and already parsed the bytes of a save it changes, it vetoes the save or the write
 * rather than let a secret be stored. Off, it changes nothing.
 */
export const redact: SessPlugin = {
  name: '@sess/plugin-redact',
  register(bus) {
    bus.on(
      'session.saving',
      (payload, context) => {
        const masked = maskOrVeto(() => payload.settings(), context, 'saved', () => redactBytes(payload.bytes))
        if (masked === undefined || Object.keys(masked.counts).length === 0) return
        if (payload.parsed) {
          return context.veto('a plugin that runs before it already parsed the original, so its records would keep the credentials; that plugin must handle session.saving with an order above -1000')
        }
        return {bytes: masked.bytes, redacted: addCounts(payload.redacted, masked.counts)}
      },
      {order: REDACT_HANDLER_ORDER},
    )
    bus.on(
      'records.writing',
      (payload, context) => {
        const masked = maskOrVeto(() => payload.settings(), context, 'written', () => maskContent(payload))
        if (masked === undefined || Object.keys(masked.counts).length === 0) return
        return {...masked.content, redacted: addCounts(payload.redacted, masked.counts)}
      },
      {order: REDACT_HANDLER_ORDER},
    )
  },
}

/**
 * `mask()` when the settings turn redaction on; `undefined` when they turn it off. Fails closed:
 * when the settings cannot be read or `mask` throws, it vetoes (the save or write is refused, and
 * nothing is `what`: `saved`, `written`).
 */
function maskOrVeto<T>(settings: () => SessConfig, context: BeforeContext, what: string, mask: () => T): T | undefined {
  try {
    return redactEnabled(settings()) ? mask() : undefined
  } catch (error) {
    return context.veto(`it cannot mask credentials (${error instanceof Error ? error.message : String(error)}), so nothing was ${what}; fix that, or turn redaction off (sess config set redact.enabled false)`)
  }
}

/** The content of a `records.writing` payload masked (the field that is set, replaced), and the counts. */
function maskContent(payload: WritingPayload): {content: Pick<WritingPayload, 'records' | 'output' | 'snapshot'>; counts: RedactionCounts} {
  if (payload.records) {
    const {counts, value} = redactJson(payload.records)
    return {content: {records: value}, counts}
  }
  if (payload.output) {
    const {counts, value} = redactJson(payload.output)
    return {content: {output: value}, counts}
  }
  if (payload.snapshot) {
    const {bytes, counts} = redactBytes(payload.snapshot)
    return {content: {snapshot: bytes}, counts}
  }
  return {content: {}, counts: {}}
}

/** The counts of `earlier` plus those of `counts`. */
function addCounts(earlier: SavingPayload['redacted'], counts: RedactionCounts): RedactionCounts {
  const sum: RedactionCounts = {...earlier}
  for (const [rule, count] of Object.entries(counts)) sum[rule] = (sum[rule] ?? 0) + count
  return sum
}
