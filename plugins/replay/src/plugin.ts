import type {SessPlugin} from '../../../src/bus/index.ts'

/** The format name of a session's terminal output as plain bytes (`sess restore NAME --format output`). */
export const OUTPUT_FORMAT = 'output'

const encoder = new TextEncoder()

/**
 * The replay plugin's bus handlers. It writes the `output` format on `session.restoring`: the
 * output buffer's stdout and stderr data (`o` and `e` events) concatenated as UTF-8, without the
 * timing: the bytes `sess replay --no-wait` writes, and `asciinema cat` prints for the session's
 * asciicast export. On `session.foregrounded` it replays what the session missed in the background
 * (its `o` and `e` events, in order, all at once) into the caller's sink. Its commands
 * (`sess record`, `sess replay`) come through oclif.
 */
export const replay: SessPlugin = {
  name: '@sess/plugin-replay',
  register(bus) {
    bus.on('session.restoring', async (payload) => {
      if (payload.bytes || payload.format !== OUTPUT_FORMAT) return
      const {output} = await payload.load()
      const text = output
        .filter((event) => event.code === 'o' || event.code === 'e')
        .map((event) => event.data)
        .join('')
      return {bytes: encoder.encode(text)}
    })
    bus.on('session.foregrounded', async ({missed, sink}) => {
      if (!sink) return
      for await (const event of missed()) if (event.code === 'o' || event.code === 'e') await sink(event)
    })
  },
}
