import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {DiskFullError, type DoctorReport, openStore} from '../../../src/index.ts'
import {type CliResult, sess, sessJson} from '../../../test/helpers/cli.ts'
import {FILLER} from './tmpfs.ts'

/** Where a scenario runs. */
export interface DiskFullContext {
  /** The tmpfs's mount point, fresh for the scenario: the store is in `home`, the filler beside it. */
  disk: string
  /** The store's home, on the tmpfs. */
  home: string
  /** A directory on another disk, for inputs and the CLI's own data. */
  scratch: string
  /** Which round of the scenario this is (rounds leave different amounts of space). */
  round: number
}

/** What a scenario did. */
export interface ScenarioResult {
  cases: number
  /** Writes that failed on the full disk. */
  faults: number
  /** One line per failed check. */
  failures: string[]
}

/** A scenario of the disk-full suite: fills the disk during one kind of write, checks, frees space, retries. */
export type DiskFullScenario = (context: DiskFullContext) => Promise<ScenarioResult>

/** Doctor finding kinds a write that failed on a full disk may leave (none, as sess cleans up after itself; gc and doctor would). */
const LITTER: ReadonlySet<string> = new Set(['temp-file', 'orphan-content'])

/** Runs the CLI on the store of `context`, with its own data outside the tmpfs. */
export function sessOn(context: DiskFullContext, args: string[]): CliResult {
  return sess(context.home, args, {env: cliData(context)})
}

/** {@link sessOn} with `--json`, parsing stdout. */
function sessOnJson<T>(context: DiskFullContext, args: string[]): {code: number; json: T} {
  return sessJson<T>(context.home, args, {env: cliData(context)})
}

/** The CLI's data directory (oclif's, for plugins), outside the tmpfs. */
function cliData(context: DiskFullContext): Record<string, string> {
  return {XDG_DATA_HOME: join(context.scratch, 'xdg-data')}
}

/**
 * The CLI's failure on a full disk: exit 1, and an error naming the disk being full and a hint
 * naming the fix (free space on the tmpfs).
 *
 * @returns the problems found.
 */
export function cliDiskFull(result: CliResult, context: DiskFullContext): string[] {
  const problems: string[] = []
  if (result.code !== 1) problems.push(`exit ${result.code}, not 1`)
  if (!/^Error: The disk holding \S+ is full: [\d.]+ \w+ free on /m.test(result.stderr)) problems.push(`no error naming the full disk: ${JSON.stringify(result.stderr.slice(0, 300))}`)
  if (!result.stderr.includes(`Hint: Free space on ${context.disk} `)) problems.push(`no hint to free space on ${context.disk}: ${JSON.stringify(result.stderr.slice(0, 300))}`)
  if (/^\s+at /m.test(result.stderr)) problems.push('a stack trace on stderr')
  return problems
}

/** A library write's failure on a full disk: a {@link DiskFullError} naming the tmpfs. */
export function libraryDiskFull(error: unknown, context: DiskFullContext): string[] {
  if (!(error instanceof DiskFullError)) return [`not a DiskFullError: ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`]
  return error.mountPoint === context.disk ? [] : [`the error names ${error.mountPoint}, not the full disk ${context.disk}`]
}

/**
 * After a write failed on the full disk: `sess doctor` finds nothing but litter of unfinished
 * writes (and the kinds in `expected`); then space is freed (the filler deleted), `sess doctor --fix` repairs what was found,
 * and `sess doctor` exits 0.
 *
 * @returns the problems found.
 */
export function doctorAndFree(context: DiskFullContext, expected: readonly string[] = []): string[] {
  const problems: string[] = []
  const first = sessOnJson<DoctorReport>(context, ['doctor'])
  for (const finding of first.json.findings ?? []) {
    if (!LITTER.has(finding.kind) && !expected.includes(finding.kind)) problems.push(`doctor on the full disk: ${finding.kind}: ${finding.message}`)
  }
  if (first.json.findings === undefined) problems.push(`doctor on the full disk failed: ${JSON.stringify(first.json)}`)
  rmSync(join(context.disk, FILLER), {force: true})
  const fix = sessOnJson<DoctorReport>(context, ['doctor', '--fix'])
  if (fix.json.clean !== true) problems.push(`doctor --fix after freeing space: ${JSON.stringify(fix.json).slice(0, 300)}`)
  const after = sessOn(context, ['doctor'])
  if (after.code !== 0) problems.push(`doctor after --fix exits ${after.code}: ${after.stdout.slice(0, 300)}${after.stderr.slice(0, 300)}`)
  return problems
}

/** Opens the store of `context` with the library, runs `work`, and closes it (before the tmpfs goes). */
export async function withStore<T>(context: DiskFullContext, work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  await using store = await openStore({home: context.home})
  return await work(store)
}
