import type {Store} from '../../../../src/index.ts'
import type {OutputWriter, StoreFailure} from './output-writer.ts'
import type {RecordOutcome} from './recorder.ts'

/** The store calls that end a recording. */
export type EndSink = Pick<Store, 'append' | 'appendOutput' | 'setStatus'>

/** What the end of a recording did. */
export interface RecordingEnd {
  /** The session's final status: `terminated` when a signal killed the command, else `completed`. */
  status: 'completed' | 'terminated'
  /** How the store failed during the recording, if it did: the output after that was not recorded. */
  stopped: StoreFailure | undefined
  /** The end's own writes that failed, and why: the session may be left `processing` (`sess doctor --fix` then marks it `terminated`). */
  unwritten: {what: string; error: unknown}[]
}

/** The `event` record's name that says a recording stopped before its command ended. */
export const RECORDING_STOPPED = 'recording.stopped'

/**
 * Ends a recording once its command has ended: the `x` event with the exit status through
 * `writer`, then the session's status. When the store failed during the recording (or fails at
 * the end), the session says so, with writes of their own that need little space: an `m` marker
 * `recording stopped: <reason>` at the time it stopped and the `x` event in the output buffer, and
 * an `event` record {@link RECORDING_STOPPED} in the transcript, whose `data` is `{reason, time,
 * events, bytes}` (seconds since the start; events and UTF-8 bytes recorded before). Each write is
 * tried whatever became of the others, and a failure is returned, never thrown: sess still exits
 * with the command's status.
 */
export async function endRecording(store: EndSink, sessionId: string, writer: OutputWriter, outcome: RecordOutcome): Promise<RecordingEnd> {
  const unwritten: RecordingEnd['unwritten'] = []
  const attempt = async (what: string, write: () => Promise<unknown>) => {
    try {
      await write()
    } catch (error) {
      unwritten.push({error, what})
    }
  }
  if (!writer.failure) {
    writer.push('x', String(outcome.exitCode))
    await writer.close()
  }
  const stopped = writer.failure
  if (stopped) {
    const reason = stopped.error instanceof Error ? stopped.error.message : String(stopped.error)
    await attempt('its output', () =>
      store.appendOutput(sessionId, [
        {code: 'm', data: `recording stopped: ${reason}`, time: stopped.time},
        {code: 'x', data: String(outcome.exitCode), time: Math.max(stopped.time, writer.now())},
      ]),
    )
    await attempt('its transcript', () => store.append(sessionId, {data: {bytes: writer.bytes, events: writer.events, reason, time: stopped.time}, name: RECORDING_STOPPED, type: 'event'}))
  }
  const status = outcome.signal === null ? 'completed' : 'terminated'
  await attempt('its status', () => store.setStatus(sessionId, status))
  return {status, stopped, unwritten}
}
