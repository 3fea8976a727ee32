import ora, {type Ora} from 'ora'

/** A progress indicator that exists only on a terminal; elsewhere every call is a no-op. */
export interface Progress {
  /** Sets the current count (of `total`, if known) and what is being worked on. */
  update(done: number, detail?: string): void
  stop(): void
}

/**
 * An ora spinner on stderr with a bar (`[#####-----] 12/340`) when `total` is known. Shown only
 * when stderr is a terminal and output is not JSON, so pipes, CI logs and scripts see nothing.
 */
export function startProgress(label: string, options: {total?: number; enabled: boolean}): Progress {
  if (!options.enabled || !process.stderr.isTTY) return {stop() {}, update() {}}
  const spinner: Ora = ora({stream: process.stderr, text: label}).start()
  return {
    stop: () => spinner.stop(),
    update(done, detail) {
      const bar = options.total ? `${renderBar(done / options.total)} ${done}/${options.total}` : String(done)
      spinner.text = `${label} ${bar}${detail ? ` ${detail}` : ''}`
    },
  }
}

function renderBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`
}
