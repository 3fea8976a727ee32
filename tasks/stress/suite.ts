/** Options every stress suite gets from `bun run stress`. */
export interface StressOptions {
  /** The quick mode that CI runs on every push: fewer cases, same checks. */
  quick: boolean
  /** A scratch directory of its own, removed afterwards. */
  workDir: string
  /** Prints a progress line. */
  log: (line: string) => void
}

/** What one suite did: the columns of the table `bun run stress` prints. */
export interface StressTally {
  suite: string
  cases: number
  /** Faults injected (failed or short system calls). */
  faults: number
  /** Processes killed with SIGKILL. */
  kills: number
  badInputs: number
  /** One line per failed check, naming the case; must be empty. */
  failures: string[]
}

/** One suite of `bun run stress`. */
export type StressSuite = (options: StressOptions) => Promise<StressTally>
