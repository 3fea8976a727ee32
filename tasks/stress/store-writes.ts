/**
 * One write through the library, as an application makes it, for `bun run stress` to run under
 * fault injection (the CLI has no command for these):
 *
 *   bun tasks/stress/store-writes.ts append|output|snapshot HOME SESSION
 *
 * `append` appends one message record, `output` two output events in one call, `snapshot` one
 * snapshot; always the same ones, so that two runs leave the same state. Prints the sequence
 * number written. A `SessError` is printed as the CLI prints one (`Error: …`, `Hint: …`) and
 * exits with its exit code; anything else thrown is a bug in the store, printed with its stack
 * (which the suite reports).
 */
import {openStore, SessError} from '../../src/index.ts'

const [operation = '', home, session] = process.argv.slice(2)
if (!['append', 'output', 'snapshot'].includes(operation) || home === undefined || session === undefined) {
  console.error('usage: bun tasks/stress/store-writes.ts append|output|snapshot HOME SESSION')
  process.exit(2)
}

try {
  await using store = await openStore({home})
  const seq =
    operation === 'append'
      ? await store.append(session, {parts: [{text: 'one more message, written under a fault', type: 'text'}], role: 'user', ts: 1_700_000_000_000, type: 'message'})
      : operation === 'output'
        ? await store.appendOutput(session, [
            {code: 'o', data: 'output written under a fault\r\n', time: 10},
            {code: 'e', data: 'and its stderr\r\n', time: 10.5},
          ])
        : await store.snapshot(session, {draft: 'a snapshot written under a fault', step: 2})
  console.log(seq)
} catch (error) {
  if (!(error instanceof SessError)) throw error
  console.error(`Error: ${error.message}`)
  if (error.hint) console.error(`Hint: ${error.hint}`)
  process.exit(error.exitCode)
}
