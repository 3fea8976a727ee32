import type {SavingPayload, SessPlugin} from '../../../src/bus/index.ts'
import {redactEnabled} from './config.ts'
import {type RedactionCounts, redactBytes} from './redact.ts'

export {REDACT_SETTINGS} from './config.ts'
export {placeholder, type RedactedBytes, type RedactedText, type RedactionCounts, redactBytes, redactText} from './redact.ts'
export {type RedactRule, RULES} from './rules.ts'

/**
 * Order of the redact plugin's `session.saving` handler: before every other handler (format
 * handlers run at 1000), so that no handler sees, parses or keeps the secrets.
 */
export const REDACT_HANDLER_ORDER = -1000

/**
 * The redact plugin's bus handler. On `session.saving`, when the setting `redact.enabled` is true,
 * it masks credentials in the original's bytes (see `RULES`) before anything parses or stores
 * them, and adds what it masked, counted by rule, to the payload's `redacted` (which becomes the
 * save's `SaveResult.redacted`). It fails closed: when it cannot read the settings or mask the
 * bytes, or when a handler ran before it and already parsed the bytes it changes, it vetoes the
 * save rather than let a secret be stored. Off, it changes nothing.
 */
export const redact: SessPlugin = {
  name: '@sess/plugin-redact',
  register(bus) {
    bus.on(
      'session.saving',
      (payload, context) => {
        let masked
        try {
          if (!redactEnabled(payload.settings())) return
          masked = redactBytes(payload.bytes)
        } catch (error) {
          return context.veto(`it cannot mask credentials (${error instanceof Error ? error.message : String(error)}), so nothing was saved; fix that, or turn redaction off (sess config set redact.enabled false)`)
        }
        if (Object.keys(masked.counts).length === 0) return
        if (payload.parsed) {
          return context.veto('a plugin that runs before it already parsed the original, so its records would keep the credentials; that plugin must handle session.saving with an order above -1000')
        }
        return {bytes: masked.bytes, redacted: addCounts(payload.redacted, masked.counts)}
      },
      {order: REDACT_HANDLER_ORDER},
    )
  },
}

/** The counts of `earlier` plus those of `counts`. */
function addCounts(earlier: SavingPayload['redacted'], counts: RedactionCounts): RedactionCounts {
  const sum: RedactionCounts = {...earlier}
  for (const [rule, count] of Object.entries(counts)) sum[rule] = (sum[rule] ?? 0) + count
  return sum
}
