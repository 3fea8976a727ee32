import {Flags} from '@oclif/core'
import {SessCommand} from '../../../../src/cli/base-command.ts'
import {chalk} from '../../../../src/cli/style.ts'
import {formatBytes} from '../../../../src/cli/units.ts'
import {CommandError, InvalidInputError, parseByteSize, SessError} from '../../../../src/index.ts'
import {endRecording} from '../record/end.ts'
import {OutputWriter} from '../record/output-writer.ts'
import {type RecordMode, runRecorded, terminalSize} from '../record/recorder.ts'

/** `sess record --json` output: one JSON object on stdout, after the command's own output. */
export interface RecordReport {
  id: string
  name: string
  mode: RecordMode
  /** The command's exit status (128 + signal number when killed), which is also sess's. */
  exitCode: number
  signal: string | null
  status: 'completed' | 'terminated'
  /** Events and bytes recorded (before any eviction). */
  events: number
  bytes: number
  /** Events and bytes the buffer has evicted to stay within its bound. */
  evictedEvents: number
  evictedBytes: number
  /** Whether the store failed during the recording (the command ran on; later output was not recorded, and the session has a `recording.stopped` record). */
  incomplete: boolean
}

export default class Record extends SessCommand<typeof Record> {
  static override summary = 'Run a command in a pseudo-terminal and record its output, with timings, into a session.'
  static override description = `The command's input and output pass through untouched (keys, colours, full-screen programs, window resizes) while its output is recorded into the session's output buffer, which \`sess replay\` plays back. The session has status processing while the command runs, then completed (or terminated when a signal killed it, or when it never started), and sess exits with the command's exit status (128 + the signal number when killed), or 127 when the command is not found.

Without a terminal (CI, a pipe) the command runs with pipes instead: stdout and stderr are recorded as separate streams (o and e) and stdin is passed on.

The buffer keeps the newest --buffer-limit bytes (default: $SESS_OUTPUT_LIMIT, else 10 MiB) and evicts the oldest whole events beyond that; the count of evicted events is kept and shown.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -- htop',
    '<%= config.bin %> <%= command.id %> --name build-42 -- make -j8',
    '<%= config.bin %> <%= command.id %> --name tail --buffer-limit 1MiB -- tail -f /var/log/syslog',
  ]

  static override strict = false

  static override flags = {
    'buffer-limit': Flags.string({description: "Bound of this session's output buffer (e.g. 512KiB, 10MiB); oldest events are evicted beyond it."}),
    kind: Flags.string({default: 'terminal', description: 'Kind of the new session.'}),
    name: Flags.string({description: 'Name of the new session (default: generated).'}),
    quiet: Flags.boolean({char: 'q', description: 'Print nothing of its own on stderr (before and after the command).'}),
    'record-input': Flags.boolean({description: 'Also record what is typed (i events). Off by default: input may hold passwords.'}),
    tag: Flags.string({description: 'Tag the session (repeatable).', multiple: true}),
  }

  async run(): Promise<RecordReport | undefined> {
    const {flags} = this
    const command = this.positionals
    if (command.length === 0) throw new InvalidInputError('No command to record.', {hint: 'Put the command after --: sess record -- make test'})
    const limit = flags['buffer-limit'] === undefined ? undefined : parseByteSize('--buffer-limit', flags['buffer-limit'])
    if (Bun.which(command[0]!) === null) throw new CommandError(command[0]!, true)
    const store = await this.store()
    const mode: RecordMode = process.stdin.isTTY && process.stdout.isTTY ? 'pty' : 'pipes'
    const size = terminalSize()
    const session = await store.create({cwd: process.cwd(), kind: flags.kind, name: flags.name, status: 'processing', tags: flags.tag, title: command.join(' ')})
    // A session whose command never ran is not left `processing`: the error says why. Should marking
    // it fail too, the first error is the one to report; `sess doctor --fix` marks it once sess is gone.
    const neverRan = async (error: unknown) => {
      await store.setStatus(session.id, 'terminated').catch(() => undefined)
      throw error
    }
    // The writer holds at most the buffer's bound of events the store has not taken yet.
    const bound = (limit === undefined ? await store.outputStats(session.id) : await store.setOutputLimit(session.id, limit).catch(neverRan)).limit
    await store.append(session.id, {state: {command, height: size.rows, mode, term: process.env.TERM ?? null, width: size.cols}, type: 'state'}).catch(neverRan)
    const say = (message: string) => {
      if (!flags.quiet && !this.jsonEnabled()) process.stderr.write(`${chalk.dim('sess:')} ${message}\n`)
    }
    say(`recording ${session.name} (${mode === 'pty' ? 'terminal' : 'pipes: stdout as o, stderr as e'}); replay with \`sess replay ${session.name}\``)
    const writer = new OutputWriter(store, session.id, {
      limit: bound,
      onError: (error) => {
        say(`${chalk.yellow('recording stopped')}: ${(error as Error).message} The command runs on, unrecorded.`)
        if (error instanceof SessError && error.hint) say(`${chalk.dim('Hint:')} ${error.hint}`)
      },
    })
    let outcome
    try {
      outcome = await runRecorded({command, env: {...process.env, SESS_RECORD_SESSION: session.id}, mode, recordInput: flags['record-input'], size, writer})
    } catch (error) {
      await writer.close()
      await store.setStatus(session.id, 'terminated')
      throw new InvalidInputError(`Cannot run ${command[0]}: ${(error as Error).message}`)
    }
    const end = await endRecording(store, session.id, writer, outcome)
    const stats = await store.outputStats(session.id)
    const report: RecordReport = {
      bytes: writer.bytes,
      events: writer.events,
      evictedBytes: stats.evictedBytes,
      evictedEvents: stats.evictedEvents,
      exitCode: outcome.exitCode,
      id: session.id,
      incomplete: end.stopped !== undefined,
      mode,
      name: session.name,
      signal: outcome.signal,
      status: end.status,
    }
    const evicted = stats.evictedEvents > 0 ? `; ${stats.evictedEvents} older events (${formatBytes(stats.evictedBytes)}) evicted to stay within ${formatBytes(stats.limit)}` : ''
    const until = end.stopped ? ` until the store failed ${end.stopped.time.toFixed(1)} s in` : ''
    say(`recorded ${session.name}${until}: ${writer.events} events, ${formatBytes(writer.bytes)}${evicted}; ${outcome.signal ?? `exit ${outcome.exitCode}`}`)
    if (end.unwritten.length > 0) {
      const [first] = end.unwritten
      const processing = end.unwritten.some((u) => u.what === 'its status') ? ' It is left processing: `sess doctor --fix` marks it terminated once the store takes writes again.' : ''
      say(`${chalk.yellow('could not write')} the end of ${session.name} (${end.unwritten.map((u) => u.what).join(', ')}): ${(first!.error as Error).message}${processing}`)
    }
    if (outcome.exitCode === 0) return report
    if (this.jsonEnabled()) this.logJson(report)
    return this.exit(outcome.exitCode)
  }
}
