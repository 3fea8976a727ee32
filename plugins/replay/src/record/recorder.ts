import {exitStatus, relaySignals, TERMINAL_SIGNALS} from '../../../../src/os/child-process.ts'
import {Passthrough} from '../terminal.ts'
import type {OutputWriter} from './output-writer.ts'
import {enterRawMode} from './termios.ts'

/**
 * How a command is recorded: `pty`, in a pseudo-terminal of its own (the user's terminal in raw
 * mode passes keys in and bytes out untouched; all output is one stream, `o`); or `pipes`, when
 * sess itself has no terminal (CI, `| tee`): stdout and stderr are separate pipes, recorded as `o`
 * and `e`, and stdin is inherited.
 */
export type RecordMode = 'pty' | 'pipes'

/** Options of {@link runRecorded}. */
export interface RecordOptions {
  /** The command and its arguments (`argv[0]` looked up on the `PATH`). */
  command: string[]
  mode: RecordMode
  /** Where the events go. */
  writer: OutputWriter
  /** Also record what is typed (`i` events; pty mode only). Off by default: input may hold secrets. */
  recordInput?: boolean
  /** Environment of the command. */
  env: Record<string, string | undefined>
  /** Terminal size in pty mode (default: sess's own terminal, else 80×24). */
  size?: {cols: number; rows: number}
}

/** How the command ended. */
export interface RecordOutcome {
  /** The exit status: the command's own, or 128 + the signal number when a signal killed it (as shells report it). */
  exitCode: number
  /** The signal that killed it (`SIGKILL`…), or `null`. */
  signal: string | null
}

/** How long to wait, after the command exits, for its terminal to deliver the last output (a background child may hold it open), in ms. */
const DRAIN_MS = 250

/**
 * Signals sess passes on to the command rather than dying of them, and those it outlives. In
 * pipes mode the command shares sess's process group, so the terminal already sends it ^C and ^\:
 * sess outlives them to record its end.
 */
const RELAYED: Readonly<Record<RecordMode, {forward: NodeJS.Signals[]; outlive: readonly NodeJS.Signals[]}>> = {
  pipes: {forward: ['SIGTERM', 'SIGHUP'], outlive: TERMINAL_SIGNALS},
  pty: {forward: ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'], outlive: []},
}

/** Runs `options.command`, passing its I/O through and recording it (see {@link RecordMode}). */
export async function runRecorded(options: RecordOptions): Promise<RecordOutcome> {
  return options.mode === 'pty' ? runInTerminal(options) : runWithPipes(options)
}

/** The terminal size of sess's stdout, or 80×24. */
export function terminalSize(): {cols: number; rows: number} {
  return {cols: process.stdout.columns || 80, rows: process.stdout.rows || 24}
}

async function runInTerminal({command, env, recordInput, size = terminalSize(), writer}: RecordOptions): Promise<RecordOutcome> {
  let eof: () => void = () => {}
  const ended = new Promise<void>((resolve) => (eof = resolve))
  // A closed terminal (EIO) ends the passthrough, not the recording: the command gets its SIGHUP.
  const stdout = new Passthrough(1)
  const proc = Bun.spawn(command, {
    env,
    terminal: {
      cols: size.cols,
      data(_terminal, data) {
        stdout.write(data)
        writer.bytesOf('o', data)
      },
      exit: () => eof(),
      name: env.TERM || 'xterm-256color',
      rows: size.rows,
    },
  })
  const terminal = proc.terminal!
  const restoreMode = process.stdin.isTTY ? enterRawMode(0) : undefined
  const onInput = (chunk: Uint8Array) => {
    if (!terminal.closed) terminal.write(chunk)
    if (recordInput) writer.bytesOf('i', chunk)
  }
  const onResize = () => {
    const {cols, rows} = terminalSize()
    if (terminal.closed) return
    terminal.resize(cols, rows)
    writer.push('r', `${cols}x${rows}`)
  }
  process.stdin.on('data', onInput)
  process.stdout.on('resize', onResize)
  const stopForwarding = relaySignals(proc, RELAYED.pty.forward, RELAYED.pty.outlive)
  try {
    await proc.exited
    await Promise.race([ended, Bun.sleep(DRAIN_MS)])
  } finally {
    stopForwarding()
    process.stdout.off('resize', onResize)
    process.stdin.off('data', onInput)
    process.stdin.pause()
    restoreMode?.()
    terminal.close()
  }
  return outcome(proc)
}

async function runWithPipes({command, env, writer}: RecordOptions): Promise<RecordOutcome> {
  const proc = Bun.spawn(command, {env, stderr: 'pipe', stdin: 'inherit', stdout: 'pipe'})
  const stopForwarding = relaySignals(proc, RELAYED.pipes.forward, RELAYED.pipes.outlive)
  // When sess's reader goes away (`sess record -- yes | head`), the command gets the SIGPIPE it would have got without sess.
  const pump = async (stream: ReadableStream<Uint8Array>, fd: number, code: 'o' | 'e') => {
    const out = new Passthrough(fd, () => proc.kill('SIGPIPE'))
    for await (const chunk of stream) {
      out.write(chunk)
      writer.bytesOf(code, chunk)
    }
  }
  try {
    await Promise.all([pump(proc.stdout, 1, 'o'), pump(proc.stderr, 2, 'e'), proc.exited])
  } finally {
    stopForwarding()
  }
  return outcome(proc)
}

function outcome(proc: Bun.Subprocess): RecordOutcome {
  return {exitCode: exitStatus(proc), signal: proc.signalCode === null ? null : String(proc.signalCode)}
}
