/**
 * The crash matrix (DESIGN §7: a record, snapshot or save is wholly there or not there after a
 * crash at any instant): processes writing to a store are killed with SIGKILL at random instants,
 * on every write path — `sess save` of a file and of a directory, library appends of records and
 * output, originals and snapshots, lock grants and releases (`tasks/stress/crash/paths/`),
 * `sess restore --to`, `sess rm` and `rm --purge`, `sess gc` compressing and purging, and
 * `sess migrate`. After each kill the store is opened afresh and checked:
 * - everything the victim reported committed is there, byte for byte (a library child prints a
 *   line after each awaited write; the CLI prints one as each session is saved or removed, and all
 *   of it when it exited 0), and nothing else but the one write in flight, wholly or not at all;
 * - the doctor finds nothing but crash litter (temp files, orphan blobs, stale locks, dead
 *   owners, as each path allows), `doctor --fix` repairs it, and the doctor then finds nothing;
 *   every fifth case of a path, the `sess doctor` CLI agrees and the doctor reads every blob.
 *
 * A library child is killed within 250 ms of its `ready` line; a CLI command at an instant drawn
 * over its run (from half the CLI's start-up time to 1.15× the median of its runs that ended by
 * themselves, the first case of each path running unkilled to measure it). The instants come from
 * a seeded PRNG per path: the seed is printed, and `SESS_STRESS_SEED` draws the same ones again
 * (the commands' own speed varies). `SESS_STRESS_PATHS=gc,migrate` runs only the paths named.
 *
 * Full mode: at least 1,045 kills (95 per path); quick mode: 88 (8 per path).
 */
import {join} from 'node:path'
import {openStore} from '../../src/index.ts'
import {sessArgv, sessEnv} from '../../test/helpers/cli.ts'
import {seededRandom} from '../../test/helpers/random.ts'
import {doctorAfterKill} from './crash/doctor.ts'
import type {CrashCase, CrashPath, PathFactory} from './crash/path.ts'
import {gcPath} from './crash/paths/gc.ts'
import {libraryPath} from './crash/paths/library.ts'
import {migratePath} from './crash/paths/migrate.ts'
import {removePath} from './crash/paths/remove.ts'
import {restorePath} from './crash/paths/restore.ts'
import {saveDirPath, saveFilePath} from './crash/paths/save.ts'
import {runVictim, type VictimOutcome} from './crash/victim.ts'
import type {StressSuite, StressTally} from './suite.ts'

/** Every write path by name, in the order each round visits them. */
const PATHS: readonly {name: string; make: PathFactory}[] = [
  {make: libraryPath('append'), name: 'append'},
  {make: libraryPath('output'), name: 'append-output'},
  {make: libraryPath('mixed'), name: 'save-snapshot'},
  {make: libraryPath('lock'), name: 'lock'},
  {make: saveFilePath, name: 'save-file'},
  {make: saveDirPath, name: 'save-dir'},
  {make: restorePath, name: 'restore-to'},
  {make: removePath(false), name: 'rm'},
  {make: removePath(true), name: 'rm-purge'},
  {make: gcPath, name: 'gc'},
  {make: migratePath, name: 'migrate'},
]

/** Kills per path: full mode, quick mode. */
const KILLS_PER_PATH = {full: 95, quick: 8}

/** Every this many cases of a path, the `sess doctor` CLI runs too and the doctor reads every blob. */
const CLI_DOCTOR_EVERY = 5

/** Most problems reported per case (the first ones say what went wrong). */
const PROBLEMS_PER_CASE = 8

/** A path and how far it got. */
interface PathRun {
  name: string
  path: CrashPath
  random: () => number
  cases: number
  kills: number
  failures: number
  /** How long its victim ran when it ended by itself, ms: a CLI command's length. */
  runs: number[]
  done: boolean
}

/** See the module comment. */
export const crashMatrix: StressSuite = async ({log, quick, workDir}) => {
  const tally: StressTally = {badInputs: 0, cases: 0, failures: [], faults: 0, kills: 0, suite: 'crash-matrix'}
  const seed = Number(process.env.SESS_STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const perPath = quick ? KILLS_PER_PATH.quick : KILLS_PER_PATH.full
  const started = performance.now()
  log(`crash-matrix: seed ${seed} (SESS_STRESS_SEED=${seed} draws the same instants)`)
  const startup = await cliStartup(join(workDir, 'startup'))
  log(`crash-matrix: the CLI starts in ${startup.toFixed(0)} ms`)
  const only = process.env.SESS_STRESS_PATHS?.split(',').map((name) => name.trim())
  const unknown = only?.filter((name) => !PATHS.some((path) => path.name === name)) ?? []
  if (unknown.length > 0) tally.failures.push(`crash-matrix: SESS_STRESS_PATHS names no path ${unknown.join(', ')} (the paths: ${PATHS.map((path) => path.name).join(', ')})`)
  const runs: PathRun[] = []
  for (const [index, {make, name}] of PATHS.entries()) {
    if (only && !only.includes(name)) continue
    const path = await make(join(workDir, name), {quick})
    runs.push({cases: 0, done: false, failures: 0, kills: 0, name, path, random: seededRandom(seed + index * 0x9e3779b9), runs: []})
  }
  log(`crash-matrix: ${perPath} kills on each of ${runs.length} paths: ${runs.map((run) => run.name).join(', ')}`)
  for (let round = 1; runs.some((run) => !run.done); round++) {
    for (const run of runs) {
      if (run.done) continue
      const failures = await runCase(run, startup, seed)
      for (const failure of failures) log(`FAILED ${failure}`)
      tally.failures.push(...failures)
      run.failures += failures.length
      run.done ||= run.kills >= perPath || run.cases >= perPath * 3
    }
    if (round % 10 === 0) log(`crash-matrix: round ${round}: ${sum(runs, 'kills')} kills in ${sum(runs, 'cases')} cases, ${tally.failures.length} failures, ${seconds(started)} s`)
  }
  for (const run of runs) {
    const window = run.path.timing.afterReady ? `within ${run.path.timing.maxMs} ms of ready` : `over a run of ${median(run.runs).toFixed(0)} ms`
    const extra = run.path.summary ? `; ${run.path.summary()}` : ''
    log(`crash-matrix: ${run.name}: ${run.kills} kills in ${run.cases} cases (${window}), ${run.failures} failures${extra}`)
    if (run.kills < perPath) tally.failures.push(`crash-matrix ${run.name}: only ${run.kills} of ${perPath} kills in ${run.cases} cases (the victim ended before the instant drawn, or the path stopped)`)
  }
  tally.cases = sum(runs, 'cases')
  tally.kills = sum(runs, 'kills')
  log(`crash-matrix: ${tally.kills} kills in ${tally.cases} cases on ${runs.length} paths, ${tally.failures.length} failures, ${seconds(started)} s (seed ${seed})`)
  return tally
}

/**
 * One case of `run`'s path: arms it, kills its victim at a random instant, checks the store.
 *
 * @returns the failure lines, naming the case.
 */
async function runCase(run: PathRun, startup: number, seed: number): Promise<string[]> {
  const n = ++run.cases
  const {path} = run
  const draw = run.random()
  const label = (what: string) => `crash-matrix ${run.name} case ${n} (${what}; SESS_STRESS_SEED=${seed})`
  let victimCase: CrashCase
  try {
    victimCase = await path.arm(n)
  } catch (error) {
    run.done = true
    return [`${label('arming')}: could not prepare the case, so the path stops: ${(error as Error).message}`]
  }
  const delay = path.timing.afterReady ? draw * path.timing.maxMs : run.runs.length === 0 ? Number.POSITIVE_INFINITY : startup / 2 + draw * (median(run.runs) * 1.15 - startup / 2)
  let outcome: VictimOutcome
  try {
    outcome = await runVictim({...victimCase.victim, afterReady: path.timing.afterReady}, delay)
  } catch (error) {
    return [`${label(`delay ${delay.toFixed(0)} ms`)}: ${(error as Error).message}`]
  }
  if (outcome.killed) run.kills += 1
  else run.runs.push(outcome.ms)
  const problems: string[] = []
  try {
    await using store = await openStore({home: path.home})
    problems.push(...(await victimCase.check(store, outcome)))
    const thorough = n % CLI_DOCTOR_EVERY === 0
    problems.push(...(await doctorAfterKill(store, path.litter, {checksums: thorough, cli: thorough})))
    await victimCase.after?.(store)
  } catch (error) {
    problems.push(`the check failed: ${(error as Error).message}`)
  }
  const what = outcome.killed ? `killed ${outcome.ms.toFixed(0)} ms in` : `ran to its end in ${outcome.ms.toFixed(0)} ms`
  return problems.slice(0, PROBLEMS_PER_CASE).map((problem) => `${label(what)}: ${problem}`)
}

/** The median time of `sess list` on an empty store, in ms: what the CLI takes to start before it writes anything. */
async function cliStartup(dir: string): Promise<number> {
  const home = join(dir, 'store')
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    await Bun.spawn(sessArgv(['list', '--limit', '1']), {env: sessEnv(home), stderr: 'ignore', stdout: 'ignore'}).exited
    times.push(performance.now() - started)
  }
  return median(times)
}

/** The median of `values` (not empty). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function sum(runs: PathRun[], key: 'cases' | 'kills'): number {
  return runs.reduce((total, run) => total + run[key], 0)
}

function seconds(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(0)
}
