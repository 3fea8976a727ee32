import {Args, Flags} from '@oclif/core'
import ms from 'ms'
import {SessCommand} from '../../../../src/cli/base-command.ts'
import {chalk} from '../../../../src/cli/style.ts'
import {Interrupt} from '../../../../src/cli/interrupt.ts'
import {formatBytes} from '../../../../src/cli/units.ts'
import {InvalidInputError, type OutputStats, type ReplayPoint} from '../../../../src/index.ts'
import {Passthrough, TerminalModes} from '../terminal.ts'

/** `sess replay --stats --json` output: the buffer's {@link OutputStats} and the session's name. */
export type ReplayStatsReport = OutputStats & {name: string}

/** Bytes gathered before a write when not waiting (`--no-wait`): fewer, larger writes. */
const WRITE_CHUNK = 256 * 1024

export default class Replay extends SessCommand<typeof Replay> {
  static override summary = "Replay a session's recorded terminal output with its original timing, or follow it live."
  static override description = `Writes the output buffer (what \`sess record\` or an application recorded, or a saved asciicast) to the terminal as it happened: --speed scales time, --idle-limit caps pauses, --no-wait writes it all at once (the bytes \`asciinema cat\` gives for the session's asciicast export). --from and --to take seconds since the start (1.5, 90s, 2m) or a marker's label. --follow then goes on with new output as it is recorded, until the session completes: tail -f for a session.

If interrupted (Ctrl-C), the terminal's colours, cursor and modes (alternate screen, mouse, bracketed paste) are put back. A note on stderr says when older events were evicted from the buffer; --stats shows the buffer's figures instead of replaying.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> build-42',
    '<%= config.bin %> <%= command.id %> build-42 --speed 4 --idle-limit 1',
    '<%= config.bin %> <%= command.id %> build-42 --no-wait | less -R',
    '<%= config.bin %> <%= command.id %> build-42 --from deploy --to 2m',
    '<%= config.bin %> <%= command.id %> build-42 --follow',
    '<%= config.bin %> <%= command.id %> build-42 --stats --json',
  ]

  static override args = {
    session: Args.string({description: 'Session id or name (default: the current session).'}),
  }

  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'After the buffered output, follow new output live until the session is completed or terminated.'}),
    from: Flags.string({description: 'Start at this time (seconds, or 90s, 2m) or at the first marker with this label.'}),
    'idle-limit': Flags.string({description: 'Cap every pause at this many seconds (like asciinema --idle-time-limit).'}),
    'no-wait': Flags.boolean({description: 'Write everything at once, without the timing.'}),
    speed: Flags.string({description: 'Playback speed factor (2 is twice as fast, 0.5 half as fast).'}),
    stats: Flags.boolean({description: "Show the buffer's figures (events, bytes, bound, evicted) instead of replaying."}),
    to: Flags.string({description: 'Stop at this time (seconds, or 90s, 2m) or at the first marker with this label.'}),
  }

  async run(): Promise<ReplayStatsReport | undefined> {
    const {args, flags} = this
    if (this.jsonEnabled() && !flags.stats) throw new InvalidInputError('--json goes with --stats; a replay writes terminal output.', {hint: 'Add --stats, or drop --json.'})
    const speed = flags.speed === undefined ? undefined : positiveNumber('--speed', flags.speed)
    const idleLimit = flags['idle-limit'] === undefined ? undefined : positiveNumber('--idle-limit', flags['idle-limit'])
    const from = flags.from === undefined ? undefined : replayPoint(flags.from)
    const to = flags.to === undefined ? undefined : replayPoint(flags.to)
    const store = await this.store()
    const session = await store.get(await this.sessionRef(args.session))
    const stats = await store.outputStats(session.id)
    if (flags.stats) {
      if (!this.jsonEnabled()) this.printStats(session.name, stats)
      return {...stats, name: session.name}
    }
    if (stats.evictedEvents > 0) {
      this.logToStderr(
        `${chalk.dim('sess:')} ${stats.evictedEvents} older events (${formatBytes(stats.evictedBytes)}) were evicted from ${session.name}'s buffer (bound ${formatBytes(stats.limit)}); replaying the ${stats.events} kept.`,
      )
    }
    const controller = new AbortController()
    using interrupt = new Interrupt()
    interrupt.signal.addEventListener('abort', () => controller.abort(), {once: true})
    // A reader that goes away (`| head`) ends the replay quietly.
    const stdout = new Passthrough(1, () => controller.abort())
    const modes = new TerminalModes()
    const wait = !flags['no-wait']
    let pending: string[] = []
    let pendingLength = 0
    const flush = () => {
      if (pending.length === 0) return
      stdout.write(pending.join(''))
      pending = []
      pendingLength = 0
    }
    const result = await store.replay(
      session.id,
      (event) => {
        if (event.code !== 'o' && event.code !== 'e') return
        modes.track(event.data)
        if (wait) return stdout.write(event.data)
        pending.push(event.data)
        pendingLength += event.data.length
        if (pendingLength >= WRITE_CHUNK) flush()
      },
      {follow: flags.follow, from, idleLimit, signal: controller.signal, speed, to, wait},
    )
    flush()
    // Cut short (interrupted, or stopped at --to): put the terminal back as it was before.
    if ((result.aborted || result.reachedTo) && process.stdout.isTTY) stdout.write(modes.reset())
    if (interrupt.exitCode !== undefined) return this.exit(interrupt.exitCode)
    return undefined
  }

  private printStats(name: string, stats: OutputStats): void {
    const duration = stats.firstTime === null || stats.lastTime === null ? '—' : `${(stats.lastTime - stats.firstTime).toFixed(1)} s (${stats.firstTime.toFixed(1)}–${stats.lastTime.toFixed(1)} s)`
    this.log(`${chalk.bold(name)} output buffer`)
    this.log(`  held     ${stats.events} events, ${formatBytes(stats.bytes)}`)
    this.log(`  bound    ${formatBytes(stats.limit)} (${stats.limitSource === 'session' ? "the session's own" : "the store's default"})`)
    this.log(`  evicted  ${stats.evictedEvents} events, ${formatBytes(stats.evictedBytes)}`)
    this.log(`  span     ${duration}`)
  }
}

/** A flag's value as a number > 0. @throws {InvalidInputError} otherwise. */
function positiveNumber(flag: string, text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new InvalidInputError(`${flag} ${JSON.stringify(text)} is not a number > 0.`, {hint: `For example ${flag} 2 or ${flag} 0.5.`})
  return value
}

/**
 * `--from`/`--to`: seconds (`1.5`), a duration with a unit (`90s`, `2m`, `500ms`), or else a
 * marker's label (`marker:LABEL` forces a label that looks like a time).
 */
export function replayPoint(text: string): ReplayPoint {
  if (text.startsWith('marker:')) return {marker: text.slice('marker:'.length)}
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Number(text)
  if (/^\s*\d+(\.\d+)?\s*[a-z]+\s*$/i.test(text)) {
    const duration = ms(text.trim() as ms.StringValue)
    if (typeof duration === 'number' && Number.isFinite(duration)) return duration / 1000
  }
  return {marker: text}
}
