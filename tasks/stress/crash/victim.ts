/**
 * A process the crash matrix kills: started, given a head start, and SIGKILLed at the instant the
 * matrix drew, unless it ended first.
 */

/** How a victim is started. */
export interface Victim {
  argv: string[]
  env?: Record<string, string | undefined>
  /** Count the delay from the child's first line (`ready …`, once it has opened the store) rather than from its start. */
  afterReady?: boolean
}

/** How a victim ended. */
export interface VictimOutcome {
  /** The complete lines it printed on stdout (a line the kill cut is dropped). */
  lines: string[]
  /** Whether the kill found it running (else it had ended by itself). */
  killed: boolean
  /** Its exit code when it ended by itself, else `null`. */
  exitCode: number | null
  /** The tail of what it printed on stderr. */
  stderr: string
  /** From its start (or its `ready` line) to its end or the kill, in ms. */
  ms: number
}

/** Longest a victim may take to print `ready`, in ms. */
const READY_TIMEOUT_MS = 30_000

/** Longest a victim that is never killed (`delayMs` infinite) may run, in ms. */
const RUN_TIMEOUT_MS = 120_000

/**
 * Starts `victim` and SIGKILLs it `delayMs` after its start (or, with `afterReady`, after its
 * `ready` line), unless it ends first; `Infinity` lets it run to its end.
 *
 * @throws an `Error` when it never printed `ready`, or ran past {@link RUN_TIMEOUT_MS}.
 */
export async function runVictim(victim: Victim, delayMs: number): Promise<VictimOutcome> {
  const proc = Bun.spawn(victim.argv, {env: victim.env ?? process.env, stderr: 'pipe', stdin: 'ignore', stdout: 'pipe'})
  let out = ''
  let onReady = (): void => undefined
  const ready = new Promise<void>((resolve) => (onReady = resolve))
  const reading = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk, {stream: true})
      if (out.startsWith('ready ') && out.includes('\n')) onReady()
    }
  })()
  const stderr = new Response(proc.stderr).text()
  let started = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = (ms: number) => new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))
  try {
    if (victim.afterReady) {
      const first = await Promise.race([ready.then(() => 'ready' as const), proc.exited.then(() => 'exited' as const), timeout(READY_TIMEOUT_MS)])
      clearTimeout(timer)
      if (first !== 'ready') throw new Error(`${victim.argv.slice(1).join(' ')} ${first === 'exited' ? `exited (${proc.exitCode}) before it was ready` : 'never got ready'}: ${(await stderrTail(proc, stderr)).trim()}`)
      started = performance.now()
    }
    const end = await Promise.race([proc.exited.then(() => 'exited' as const), Number.isFinite(delayMs) ? Bun.sleep(delayMs).then(() => 'kill' as const) : timeout(RUN_TIMEOUT_MS)])
    clearTimeout(timer)
    if (end === 'timeout') throw new Error(`${victim.argv.slice(1).join(' ')} ran for over ${RUN_TIMEOUT_MS / 1000} s`)
    const ms = performance.now() - started
    if (end === 'kill') proc.kill('SIGKILL')
    await proc.exited
    const killed = proc.signalCode === 'SIGKILL'
    await reading
    const lines = out.split('\n')
    lines.pop() // the last is empty, or a line cut by the kill
    return {exitCode: killed ? null : proc.exitCode, killed, lines, ms, stderr: (await stderr).slice(-2000)}
  } finally {
    clearTimeout(timer)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await proc.exited
  }
}

async function stderrTail(proc: Bun.Subprocess, stderr: Promise<string>): Promise<string> {
  proc.kill('SIGKILL')
  await proc.exited
  return (await stderr).slice(-2000)
}
