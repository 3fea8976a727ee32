import {join} from 'node:path'
import {REPO} from './cli.ts'

/** A program run in a pseudo-terminal by {@link inTerminal}, as a user at a terminal would run it. */
export interface TerminalRun {
  /** Every byte the program wrote to its terminal so far. */
  output(): Uint8Array
  /** Resolves once the output contains `text` (rejects after `timeoutMs`, default 10 s). */
  waitFor(text: string, timeoutMs?: number): Promise<void>
  /** Types `data` at the terminal. */
  type(data: string): void
  /** Resizes the terminal window (the program gets SIGWINCH). */
  resize(cols: number, rows: number): void
  /** Resolves with the exit status once the program has exited and its terminal has been drained. */
  exited: Promise<number>
  pid: number
}

/**
 * Runs `argv` in a new pseudo-terminal of `cols`×`rows` (default 80×24) with `env` added to the
 * test's environment, recording what it writes.
 */
export function inTerminal(argv: string[], options: {env?: Record<string, string>; cols?: number; rows?: number} = {}): TerminalRun {
  const chunks: Uint8Array[] = []
  let eof: () => void = () => {}
  const drained = new Promise<void>((resolve) => (eof = resolve))
  const proc = Bun.spawn(argv, {
    cwd: REPO,
    env: {...process.env, LANG: 'C.UTF-8', NO_COLOR: '1', TERM: 'xterm-256color', ...options.env},
    terminal: {cols: options.cols ?? 80, data: (_terminal, data) => void chunks.push(data.slice()), exit: () => eof(), rows: options.rows ?? 24},
  })
  const output = () => Buffer.concat(chunks)
  return {
    exited: proc.exited.then(async (code) => {
      await Promise.race([drained, Bun.sleep(500)])
      proc.terminal?.close()
      return code
    }),
    output,
    pid: proc.pid,
    resize: (cols, rows) => proc.terminal!.resize(cols, rows),
    type: (data) => void proc.terminal!.write(data),
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs
      while (!output().toString('utf8').includes(text)) {
        if (performance.now() > deadline) throw new Error(`no ${JSON.stringify(text)} in the terminal after ${timeoutMs} ms; it shows ${JSON.stringify(output().toString('utf8'))}`)
        await Bun.sleep(10)
      }
    },
  }
}

/** Runs the sess CLI with `args` on store `home` in a pseudo-terminal (see {@link inTerminal}). */
export function sessInTerminal(home: string, args: string[], options: {cols?: number; rows?: number} = {}): TerminalRun {
  return inTerminal([process.execPath, join(REPO, 'bin', 'run.ts'), ...args], {...options, env: {NODE_ENV: 'production', SESS_HOME: home, XDG_DATA_HOME: join(home, '..', 'xdg-data')}})
}
