import type {SessPlugin} from '../../../src/bus/index.ts'
import {serializeV3} from './formats/asciicast.ts'
import {builtinFormats, detectFormat, findFormat} from './formats/index.ts'
import {sniff, unreadable} from './formats/lines.ts'

/** Order of the format handlers: after every other plugin's handlers (which may redact first). */
export const FORMAT_HANDLER_ORDER = 1000

/**
 * The persistence plugin's bus handlers: it reads originals (`session.saving`: detects the format
 * unless forced, and parses) and writes sessions out (`session.restoring`: serializes to sess
 * JSONL, Markdown or asciicast). Other plugins add formats the same way, with a lower `order`.
 */
export const persistence: SessPlugin = {
  name: '@sess/plugin-persistence',
  register(bus) {
    bus.on(
      'session.saving',
      (payload) => {
        if (payload.parsed) return
        if (payload.format !== undefined) {
          const adapter = findFormat(payload.format, builtinFormats)
          if (!adapter) return {rejection: `sess knows no format ${JSON.stringify(payload.format)}`}
          if (!adapter.parse) return {rejection: `the format ${JSON.stringify(payload.format)} is export-only: sess writes it but cannot read it back`}
          return {parsed: adapter.parse(payload.bytes, payload.path)}
        }
        const detected = detectFormat(sniff(payload.bytes, payload.path), builtinFormats, {allowRaw: payload.allowRaw})
        if (!detected?.adapter.parse) return {rejection: unreadable(payload.bytes)}
        return {parsed: detected.adapter.parse(payload.bytes, payload.path)}
      },
      {order: FORMAT_HANDLER_ORDER},
    )
    bus.on(
      'session.restoring',
      async (payload) => {
        if (payload.bytes) return
        const adapter = findFormat(payload.format, builtinFormats)
        if (!adapter?.serialize) return
        const session = await payload.load()
        const asciicastV3 = adapter.name === 'asciicast' && payload.asciicastVersion === 3
        return {bytes: asciicastV3 ? serializeV3(session) : adapter.serialize(session)}
      },
      {order: FORMAT_HANDLER_ORDER},
    )
  },
}
