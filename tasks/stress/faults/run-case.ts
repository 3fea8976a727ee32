import {cpSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {openStore} from '../../../src/index.ts'
import {REPO} from '../repo.ts'
import {faultLabel, type FaultCase, injectionOf} from './fault-menu.ts'
import {absolute, hitTarget, identityOf, onStore, type StoreCall} from './store-calls.ts'
import {compareStates, readState, type StoreState, tempFilesIn} from './store-state.ts'
import {type Injection, parseTrace, straceArgv, type TracedCall} from './strace.ts'
import type {CaseDirs, TemplateValues, WritePath} from './write-paths.ts'

/** A write path ready for its cases: its template store, and what a run without faults does. */
export interface PreparedPath {
  path: WritePath
  /** The template's directory (a {@link CaseDirs}`.dir`), copied afresh for every run. */
  template: string
  values: TemplateValues
  /** The template's state (unless the path forbids reading it back: `sess migrate`). */
  before?: StoreState
  /** The state after a run without faults. */
  reference: StoreState
  /** Kinds of doctor findings the template itself has that only `sess gc` clears (trash and quarantine past their grace). */
  leftToGc: Set<string>
  /** The calls that run made on the store. */
  calls: StoreCall[]
}

/** What one case found. */
export interface CaseResult {
  /** System calls strace failed (or shortened) in the run that counted. */
  faults: number
  /** What went wrong, one line each; empty when every check held. */
  problems: string[]
  /** Whether the command under the fault succeeded (the fault was harmless to it). */
  succeeded: boolean
  /** Doctor findings the fault left that `doctor --fix` repaired. */
  litter: string[]
}

/** How long one command may run before it is taken for hung, ms. */
const COMMAND_TIMEOUT = 120_000

/** How many runs a case may take to put its fault on its target (see `hitTarget`). */
const ATTEMPTS = 16

/** Kinds of doctor findings that `doctor --fix` leaves to `sess gc`. */
export const GC_FINDINGS = new Set(['trash-past-grace', 'quarantine-past-grace'])

/** Lines of stderr that show an I/O failure was named as one. */
const NAMES_THE_DISK = /disk|space|quota|read-only|readonly|I\/O|input\/output|ENOSPC|EIO|EDQUOT|EROFS|full|returned 0 bytes|holds \d+ bytes/i

/** The directories of a case (or template) at `dir`. */
export function caseDirs(dir: string): CaseDirs {
  return {dir, home: join(dir, 'home')}
}

/** The store of a path's run: its home, and the directories outside it that the command writes to. */
export function storeRoots(path: WritePath, dirs: CaseDirs): string[] {
  return [dirs.home, ...(path.outside ?? []).map((sub) => join(dirs.dir, sub))]
}

/** What a command run gave back. */
export interface CommandRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `argv` (after `bun`) from the repository against the store of `dirs`, optionally under strace. */
export async function runCommand(argv: string[], dirs: CaseDirs, strace?: {traceFile: string; syscalls: readonly string[]; injection?: Injection; path?: string}): Promise<CommandRun> {
  const command = [process.execPath, ...argv]
  const child = Bun.spawn({
    cmd: strace ? straceArgv(command, strace.traceFile, strace.syscalls, strace.injection, strace.path) : command,
    cwd: REPO,
    env: {...withoutSessEnv(process.env), NODE_ENV: 'production', NO_COLOR: '1', SESS_HOME: dirs.home, XDG_DATA_HOME: join(dirs.dir, 'xdg')},
    stderr: 'pipe',
    stdin: 'ignore',
    stdout: 'pipe',
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  return {code: child.signalCode === 'SIGKILL' ? -1 : code, stderr, stdout}
}

/** `env` without the variables that would change what a sess command does (a lease to write under, debugging, a buffer bound). */
function withoutSessEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) if (value !== undefined && !/^(SESS_|DEBUG$)/.test(key)) kept[key] = value
  return kept
}

/** A fresh copy of a template (a case's directory, see {@link CaseDirs}) at `dir`. */
export function copyTemplate(template: string, dir: string): CaseDirs {
  rmSync(dir, {force: true, recursive: true})
  cpSync(template, dir, {recursive: true})
  return caseDirs(dir)
}

/**
 * Runs one case in `dir`: the path's command with the fault injected on its target call (counted
 * among the calls on its path when that path is fixed; else among all calls of its kind, and a
 * run whose fault landed elsewhere, when the thread made a call more or less before the target,
 * is run again with the fault moved), then checks what a user would find:
 *
 * 1. the command failed with exit 1 and a clear message (an `Error: …` line naming the disk's
 *    failure, no stack trace), or succeeded and reached the state a run without faults reaches;
 *    an fsync that failed never lets it succeed (but those SQLite makes after the command's
 *    result is durable: see `StoreCall.sqlite`);
 * 2. every session and file is as before the run or as a run without faults leaves it, each
 *    wholly (byte-identical originals, the same records, output and snapshots);
 * 3. `doctor` finds nothing, or `doctor --fix` repairs what it finds and `doctor` then finds
 *    nothing; no temp file is left outside the store, unless the error names it (the fault kept
 *    it from being deleted);
 * 4. the same command without the fault then succeeds, and the store is as a run without faults
 *    leaves it, and clean (unless the failed command had made its change after all: then it must
 *    not have said that it changed nothing).
 */
export async function runCase(prepared: PreparedPath, testCase: FaultCase, dir: string): Promise<CaseResult> {
  const {path} = prepared
  const name = `${path.name}: ${faultLabel(testCase)} at ${testCase.call.identity} #${testCase.call.occurrence}`
  const {fixed} = testCase.call
  const tried: number[] = []
  let when = fixed?.index ?? testCase.call.index
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    tried.push(when)
    const dirs = copyTemplate(prepared.template, dir)
    const traceFile = join(dir, 'trace')
    const roots = storeRoots(path, dirs)
    const injection = injectionOf(testCase, when)
    const run = await runCommand(path.command(dirs, prepared.values), dirs, {injection, path: fixed && absolute(fixed.path, roots), syscalls: [testCase.call.syscall], traceFile})
    const calls = parseTrace(readFileSync(traceFile, 'utf8'))
    const {estimate, hit} = fixed ? hitFixed(calls, testCase.call, roots) : hitTarget(calls, testCase.call, prepared.calls, roots)
    if (hit) {
      const {litter, problems} = await checkCase(prepared, testCase, dirs, run, calls)
      const where = `when=${when}${testCase.persistent ? '+' : ''}${fixed ? ` on ${fixed.path}` : ''}`
      return {faults: calls.filter((call) => call.injected).length, litter, problems: problems.map((problem) => `${name} (${where}): ${problem}`), succeeded: run.code === 0}
    }
    // The calls before the target that vary between runs are few (a module loaded on this thread or another, a read of /proc/self/statm): aim at the estimate, then ever further around it (+1, -1, +2, -2, …).
    if (!fixed) when = Math.max(1, (estimate ?? testCase.call.index) + (attempt % 2 === 0 ? 1 : -1) * Math.floor(attempt / 2))
  }
  return {faults: 0, litter: [], problems: [`${name}: the fault could not be put on this call in ${ATTEMPTS} runs (tried when=${tried.join(', ')})`], succeeded: false}
}

/** Whether the first injected call of `traced` (a trace of the calls on the target's fixed path only) is `target`. */
function hitFixed(traced: readonly TracedCall[], target: StoreCall, roots: readonly string[]): {hit: boolean; estimate?: number} {
  const injected = traced.find((call) => call.injected)
  return {hit: injected !== undefined && injected.index === target.fixed?.index && identityOf(injected, roots) === target.identity}
}

/** The checks of {@link runCase} on a run whose fault hit its target; `calls` is that run's trace. */
async function checkCase(prepared: PreparedPath, testCase: FaultCase, dirs: CaseDirs, run: CommandRun, calls: TracedCall[]): Promise<{problems: string[]; litter: string[]}> {
  const {before, path, reference} = prepared
  const problems: string[] = []
  const roots = storeRoots(path, dirs)
  const collateral = calls.filter((call) => call.injected && !call.paths.some((p) => onStore(p, roots)))
  problems.push(...messageProblems(run, collateral.some((call) => call.syscall === 'write')))
  if (run.code === 0 && (testCase.call.syscall === 'fsync' || testCase.call.syscall === 'fdatasync') && testCase.call.sqlite === undefined) {
    problems.push(`succeeded although ${testCase.call.syscall} failed: an fsync error must fail the operation`)
  }
  const files = path.files ?? []
  const litter: string[] = []
  const readable = path.readableBeforeRetry !== false
  let tookEffect = false
  if (readable) {
    const after = await readStateOrProblem(dirs, files)
    if (typeof after === 'string') problems.push(after)
    else {
      problems.push(...compareStates(after, run.code === 0 ? {reference} : {before, reference}))
      tookEffect = run.code !== 0 && compareStates(after, {reference}).length === 0
    }
    problems.push(...(await doctorProblems(dirs.home, prepared.leftToGc, litter)))
  }
  for (const sub of path.outside ?? []) {
    // No doctor looks outside the store: a temp file left there must at least be named to the user.
    const unnamed = tempFilesIn(join(dirs.dir, sub)).filter((name) => !run.stderr.includes(name))
    if (unnamed.length > 0) problems.push(`left temp file(s) outside the store without naming them: ${unnamed.join(', ')}`)
  }
  if (tookEffect && before && compareStates(before, {reference}).length > 0 && /nothing was (changed|written)/i.test(run.stderr)) {
    problems.push(`failed saying nothing was changed, but the change was made: ${firstLine(run.stderr)}`)
  }
  if (run.code !== 0 && !tookEffect) {
    const retry = await runCommand(path.command(dirs, prepared.values), dirs)
    if (retry.code !== 0) {
      problems.push(`the retry without the fault failed (exit ${retry.code}): ${firstLine(retry.stderr)}`)
    } else {
      const after = await readStateOrProblem(dirs, files)
      problems.push(...(typeof after === 'string' ? [after] : compareStates(after, {reference})).map((problem) => `after the retry: ${problem}`))
      problems.push(...(await doctorProblems(dirs.home, new Set(), readable ? undefined : litter)).map((problem) => `after the retry: ${problem}`))
    }
  }
  if (collateral.length > 0 && problems.length > 0) problems.push(`(the fault also hit ${collateral.length} call(s) off the store: ${[...new Set(collateral.map((call) => call.paths[0] ?? call.syscall))].slice(0, 3).join(', ')})`)
  return {litter, problems}
}

/** Whether the command's exit code and stderr are what a failure of the disk must give (see {@link runCase}). */
function messageProblems(run: CommandRun, stderrLost: boolean): string[] {
  const problems: string[] = []
  if (/^\s+at .+(\(|:\d+)/m.test(run.stderr)) problems.push(`printed a stack trace: ${firstLine(run.stderr)}`)
  if (run.code === 0) return problems
  if (run.code === -1) return [...problems, 'hung: killed after 120 s']
  if (run.code !== 1) problems.push(`exit ${run.code}, not 1 (failure of the disk)`)
  if (stderrLost) return problems
  const error = /^Error: .+$/m.exec(run.stderr)?.[0]
  if (!error) problems.push(`no "Error: …" line on stderr: ${JSON.stringify(run.stderr.slice(0, 300))}`)
  else if (/bug in sess/i.test(run.stderr)) problems.push(`reported as a bug in sess, not as the disk's failure: ${error}`)
  else if (!NAMES_THE_DISK.test(run.stderr)) problems.push(`the message does not name the disk's failure: ${error}`)
  return problems
}

/** The state of the case's store, or why it cannot be read at all. */
async function readStateOrProblem(dirs: CaseDirs, files: readonly string[]): Promise<StoreState | string> {
  try {
    return await readState(dirs.home, dirs.dir, files)
  } catch (error) {
    return `the store cannot be opened: ${(error as Error).message}`
  }
}

/**
 * `doctor` on the store at `home`, and if it finds anything, `doctor --fix` and `doctor` again,
 * as a user would. Findings of `ignored` kinds are `sess gc`'s to clear.
 *
 * @param litter receives the kinds of what the first run found; without it nothing may be found at all (no fix is tried).
 * @returns one line per finding left: those `doctor --fix` did not clear, or without `litter` any.
 */
async function doctorProblems(home: string, ignored: ReadonlySet<string>, litter: string[] | undefined): Promise<string[]> {
  try {
    await using store = await openStore({home})
    const first = (await store.doctor()).findings.filter((finding) => !ignored.has(finding.kind))
    if (first.length === 0) return []
    if (litter === undefined) return first.map((finding) => `doctor finds ${finding.kind}: ${finding.message}`)
    litter.push(...first.map((finding) => finding.kind))
    await store.doctor({fix: true})
    const left = (await store.doctor()).findings.filter((finding) => !ignored.has(finding.kind))
    return left.map((finding) => `doctor --fix left ${finding.kind}: ${finding.message}`)
  } catch (error) {
    return [`doctor failed: ${(error as Error).message}`]
  }
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '(nothing on stderr)'
}
