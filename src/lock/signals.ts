import {isMainThread} from 'node:worker_threads'

/** The signals on which held leases are released: ^C and a polite kill. */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** Longest a signal waits for releases before the process goes down anyway, ms. */
const RELEASE_GRACE_MS = 2_000

const releases = new Set<() => Promise<unknown>>()
let installed = false

/**
 * Registers `release` to run if the process gets SIGINT or SIGTERM while it is registered.
 *
 * Only when sess's handler is the sole listener of that signal: the default action would kill the
 * process without unwinding, so sess releases what it holds and then re-raises the signal, and the
 * process dies of it as it would have (exit 130 or 143). An application that listens to the signal
 * itself owns its shutdown; its leases are released as its scopes unwind (`await using`).
 * (Once installed, the handler stays: with nothing to release it re-raises at once, which is the
 * default action, and installing signal handlers anew for every lease would cost more than a grant.)
 *
 * @returns a function that unregisters `release`.
 */
export function releaseOnSignal(release: () => Promise<unknown>): () => void {
  if (!isMainThread) return () => undefined // signals reach the main thread only
  if (!installed) for (const signal of SIGNALS) process.on(signal, onSignal)
  installed = true
  releases.add(release)
  return () => void releases.delete(release)
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return
  const pending = Promise.allSettled([...releases].map((release) => release()))
  const grace = new Promise((resolve) => setTimeout(resolve, RELEASE_GRACE_MS).unref())
  void Promise.race([pending, grace]).finally(() => {
    for (const each of SIGNALS) process.off(each, onSignal)
    installed = false
    process.kill(process.pid, signal)
  })
}
