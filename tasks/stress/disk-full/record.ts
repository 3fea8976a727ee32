/**
 * (c) `sess record` of a command that prints more than the disk holds. The recorder keeps the
 * command running to its end: all its output reaches sess's stdout, and sess exits with the
 * command's own status. It reports that recording stopped: a message on stderr naming the full
 * disk and the fix, and the session says so (an `m` marker and the `x` event ending its output
 * buffer, a `recording.stopped` record, status `completed`), as far as the disk has room for
 * those writes: sess names each it could not make, and a session whose status it could not write
 * is left `processing`, which `sess doctor --fix` then marks `terminated`. There is room when the
 * failed write left some (SQLite writes the next commit over the frames of the one that failed),
 * which depends on where the disk filled up; there is none when the command itself filled the
 * disk. What it recorded is the start of what the command printed.
 * After space is freed, the next recording is whole.
 */
import {join} from 'node:path'
import {RECORDING_STOPPED} from '../../../plugins/replay/src/record/end.ts'
import type {Session, StoredOutputEvent, StoredRecord} from '../../../src/index.ts'
import {type DiskFullContext, type DiskFullScenario, doctorAndFree, sessOn, withStore} from './scenario.ts'
import {FILLER, fill} from './tmpfs.ts'

/**
 * How each round fills the disk under a store that exists: by leaving this many bytes free when
 * the recording starts (too little for the recorder's first batch, 1 MiB at most; then room for
 * one batch), or (full mode) by the command itself, which prints a line, then fills the disk to
 * the last byte (`cat /dev/zero`), then prints the rest. Then nothing is left even for the end of
 * the recording: sess must say that it could not write it.
 *
 * What the store takes must fit on the disk twice once the filler is freed: the recorded output
 * sits in the WAL, and the checkpoint that the retry's commits trigger copies it into the database
 * file before the WAL is reused (with 2.5 MB left, a 4 MiB disk stays full whatever is freed).
 */
const ROUNDS: readonly ({leave: number} | {hog: true})[] = [{leave: 300_000}, {leave: 1_500_000}, {hog: true}]

/** What the command prints on stdout, more than the 4 MiB disk holds: this line, over and over, then {@link LAST_LINE}. */
const LINE = 'the recorded command keeps printing this line\n'
const PRINTED = 6_000_000
const LAST_LINE = 'the end of the output\n'
/** What the command prints first when it fills the disk itself. */
const FIRST_LINE = 'printed before the disk fills\n'

/** The command's own exit status. */
const STATUS = 7

export const recordScenario: DiskFullScenario = async (context) => {
  const {round} = context
  const failures: string[] = []
  const fail = (problem: string) => failures.push(`disk-full record (round ${round}): ${problem}`)
  const created = sessOn(context, ['list'])
  if (created.code !== 0) fail(`sess list on an empty disk exits ${created.code}: ${created.stderr}`)
  const how = ROUNDS[round % ROUNDS.length]!
  const hog = 'hog' in how
  if (!hog) fill(context.disk, how.leave)
  const name = `flood-${round}`
  const first = hog ? `printf '${FIRST_LINE.trimEnd()}\\n'; sleep 0.3; cat /dev/zero > ${join(context.disk, FILLER)} 2>/dev/null; ` : ''
  const script = `${first}yes '${LINE.trimEnd()}' | head -c ${PRINTED}; printf '${LAST_LINE.trimEnd()}\\n'; exit ${STATUS}`
  const result = sessOn(context, ['record', '--name', name, '--', 'sh', '-c', script])
  if (result.code !== STATUS) fail(`sess record exits ${result.code}, not the command's ${STATUS}: ${result.stderr.trim().slice(-300)}`)
  const expected = (hog ? FIRST_LINE : '') + LINE.repeat(Math.ceil(PRINTED / LINE.length)).slice(0, PRINTED) + LAST_LINE
  if (result.stdout !== expected) fail(`the command's output did not all reach stdout: ${result.stdout.length} of ${expected.length} bytes${result.stdout.endsWith(LAST_LINE) ? '' : ', without its last line'}`)
  if (!/^sess: recording stopped: The disk holding \S+ is full: .* The command runs on, unrecorded\.$/m.test(result.stderr)) fail(`no message on stderr that recording stopped on the full disk: ${JSON.stringify(result.stderr.slice(0, 400))}`)
  if (!result.stderr.includes(`sess: Hint: Free space on ${context.disk} `)) fail(`no hint on stderr to free space on ${context.disk}`)
  if (!/^sess: recorded \S+ until the store failed /m.test(result.stderr)) fail(`the closing line does not say the recording stopped early: ${JSON.stringify(result.stderr.slice(-300))}`)
  // What sess says it could not write of the end: its output, its transcript, its status.
  const unwritten = /^sess: could not write the end of \S+ \((.*)\): The disk holding \S+ is full/m.exec(result.stderr)?.[1]?.split(', ') ?? []
  const leftProcessing = unwritten.includes('its status')
  if (hog && unwritten.length === 0) fail(`sess does not say that it could not write the end of the recording: ${JSON.stringify(result.stderr.slice(-300))}`)
  if (leftProcessing !== /It is left processing: `sess doctor --fix` marks it terminated/.test(result.stderr)) fail(`sess says the session is left processing exactly when it could not write its status: ${JSON.stringify(result.stderr.slice(-300))}`)
  const stopped = await withStore(context, (store) => readSession(store, name))
  if (stopped instanceof Error) fail(`the session cannot be read: ${stopped.message}`)
  else {
    const status = leftProcessing ? 'processing' : 'completed'
    if (stopped.session.status !== status) fail(`the session is ${stopped.session.status}, not ${status} (sess could not write: ${unwritten.join(', ') || 'nothing'})`)
    const note = stopped.records.find(({record}) => record.type === 'event' && record.name === RECORDING_STOPPED)
    if (!unwritten.includes('its transcript') && (!note || !JSON.stringify(note.record).includes('is full'))) {
      fail(`no ${RECORDING_STOPPED} record naming the full disk: ${JSON.stringify(stopped.records.map(({record}) => record)).slice(0, 300)}`)
    }
    const [marker, exit] = stopped.events.slice(-2)
    if (!unwritten.includes('its output') && (marker?.code !== 'm' || !marker.data.startsWith('recording stopped: The disk holding') || exit?.code !== 'x' || exit.data !== String(STATUS))) {
      fail(`the output buffer does not end with the stop marker and the exit status: ${JSON.stringify(stopped.events.slice(-2)).slice(0, 300)}`)
    }
  }
  if (!(stopped instanceof Error)) {
    const recorded = stopped.events.filter((event) => event.code === 'o').map((event) => event.data).join('')
    if (!expected.startsWith(recorded) || (hog && recorded !== FIRST_LINE)) fail(`what was recorded (${recorded.length} bytes) is not the start of what the command printed${hog ? ' before it filled the disk' : ''}`)
  }
  for (const problem of doctorAndFree(context, leftProcessing ? ['dead-owner'] : [])) fail(problem)
  if (leftProcessing) {
    const after = await withStore(context, (store) => store.get(name))
    if (after.status !== 'terminated') fail(`after doctor --fix, the session whose status could not be written is ${after.status}, not terminated`)
  }
  failures.push(...(await retry(context, round)))
  return {cases: 1, failures, faults: 1}
}

/** After space was freed, `sess record` of a short command is whole. */
async function retry(context: DiskFullContext, round: number): Promise<string[]> {
  const failures: string[] = []
  const fail = (problem: string) => failures.push(`disk-full record (round ${round}), after freeing space: ${problem}`)
  const name = `again-${round}`
  const result = sessOn(context, ['record', '--name', name, '--', 'sh', '-c', 'echo again; exit 3'])
  if (result.code !== 3 || result.stdout !== 'again\n') fail(`sess record exits ${result.code} with ${JSON.stringify(result.stdout)}, not 3 with "again": ${JSON.stringify(result.stderr.slice(-300))}`)
  if (result.stderr.includes('recording stopped')) fail(`the recording stopped: ${result.stderr}`)
  const whole = await withStore(context, (store) => readSession(store, name))
  if (whole instanceof Error) fail(`the session cannot be read: ${whole.message}`)
  else if (whole.session.status !== 'completed' || JSON.stringify(whole.events.map((event) => [event.code, event.data])) !== JSON.stringify([['o', 'again\n'], ['x', '3']])) {
    fail(`the session is ${whole.session.status} with output ${JSON.stringify(whole.events.map((event) => [event.code, event.data]))}`)
  }
  return failures
}

/** A session's row, transcript and output buffer, or the error reading them. */
async function readSession(store: Parameters<Parameters<typeof withStore>[1]>[0], name: string): Promise<{session: Session; records: StoredRecord[]; events: StoredOutputEvent[]} | Error> {
  try {
    const session = await store.get(name)
    const records: StoredRecord[] = []
    for await (const record of store.records(session.id)) records.push(record)
    const events: StoredOutputEvent[] = []
    for await (const event of store.output(session.id)) events.push(event)
    return {events, records, session}
  } catch (error) {
    return error as Error
  }
}
