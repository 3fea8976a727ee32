import {constants} from 'node:os'

/** A child of this process as the helpers below use it (a `Bun.Subprocess` is one). */
export interface ChildProcess {
  readonly exitCode: number | null
  readonly signalCode: number | NodeJS.Signals | null
  kill(signal?: number | NodeJS.Signals): void
}

/** A finished child's exit status as a shell reports it: its exit code, or 128 + n when signal n killed it. */
export function exitStatus(child: ChildProcess): number {
  const {exitCode, signalCode} = child
  if (signalCode === null) return exitCode ?? 1
  return 128 + (typeof signalCode === 'number' ? signalCode : constants.signals[signalCode])
}

/**
 * The signals a child that shares this process's process group (one without a terminal of its
 * own) gets from the terminal itself: ^C and ^\. Passing them on as well would deliver them twice.
 */
export const TERMINAL_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT']

/**
 * While `child` runs: passes each signal of `forward` on to it, and lets this process outlive the
 * signals of `outlive` (which reach the child another way), so that it can record or clean up
 * after the child ends.
 *
 * @returns the function that stops both.
 */
export function relaySignals(child: ChildProcess, forward: readonly NodeJS.Signals[], outlive: readonly NodeJS.Signals[] = []): () => void {
  const pass = (signal: NodeJS.Signals) => child.kill(signal)
  const ignore = () => undefined
  for (const signal of forward) process.on(signal, pass)
  for (const signal of outlive) process.on(signal, ignore)
  return () => {
    for (const signal of forward) process.off(signal, pass)
    for (const signal of outlive) process.off(signal, ignore)
  }
}
