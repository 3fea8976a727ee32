/**
 * Reliability evidence for DESIGN §7, rerunnable by anyone: suites that break the store on
 * purpose and check what is left.
 *
 *   bun run stress            every suite in full (the fault suite alone takes about half an hour)
 *   bun run stress --quick    fewer cases, same checks: what CI runs on every push (a few minutes)
 *
 * Prints a table (suite, cases run, faults injected, processes killed, bad inputs, failures, and a
 * total row whose failures must be 0), then each failure. Exits 1 when any check failed. Each suite
 * gets a scratch directory of its own, removed afterwards. Progress goes to stderr.
 */
import {mkdtempSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {renderTable} from '../src/cli/table.ts'
import {badInputs} from './stress/bad-inputs.ts'
import {crashMatrix} from './stress/crash-matrix.ts'
import {diskFull} from './stress/disk-full.ts'
import {faults} from './stress/faults.ts'
import type {StressSuite, StressTally} from './stress/suite.ts'

/** The suites, in the order they run. */
const SUITES: readonly [string, StressSuite][] = [
  ['faults', faults],
  ['crash matrix', crashMatrix],
  ['disk full', diskFull],
  ['bad inputs', badInputs],
]

const quick = process.argv.includes('--quick')
const log = (line: string) => process.stderr.write(`stress: ${line}\n`)

const started = performance.now()
const tallies: StressTally[] = []
for (const [name, suite] of SUITES) {
  const workDir = mkdtempSync(join(realpathSync(tmpdir()), 'sess-stress-')) // real: strace names files by their real path
  const suiteStarted = performance.now()
  try {
    tallies.push(await suite({log, quick, workDir}))
  } catch (error) {
    tallies.push({badInputs: 0, cases: 0, failures: [`${name}: the suite itself failed: ${(error as Error).stack ?? error}`], faults: 0, kills: 0, suite: name})
  } finally {
    rmSync(workDir, {force: true, recursive: true})
  }
  log(`${name}: done in ${minutes(performance.now() - suiteStarted)}`)
}

const total: StressTally = {
  badInputs: sum((t) => t.badInputs),
  cases: sum((t) => t.cases),
  failures: tallies.flatMap((t) => t.failures),
  faults: sum((t) => t.faults),
  kills: sum((t) => t.kills),
  suite: 'total',
}
const row = (t: StressTally) => [t.suite, String(t.cases), String(t.faults), String(t.kills), String(t.badInputs), String(t.failures.length)]
console.log(renderTable(['SUITE', 'CASES', 'FAULTS', 'KILLS', 'BAD INPUTS', 'FAILURES'], [...tallies.map(row), row(total)]))
console.log(`${quick ? 'Quick run' : 'Full run'} in ${minutes(performance.now() - started)}.`)
if (total.failures.length > 0) {
  console.log(`\n${total.failures.length} failure(s):`)
  for (const failure of total.failures) console.log(`- ${failure}`)
  process.exit(1)
}

function sum(field: (tally: StressTally) => number): number {
  return tallies.reduce((total, tally) => total + field(tally), 0)
}

/** `4m 12s` from ms. */
function minutes(ms: number): string {
  const seconds = Math.round(ms / 1000)
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`
}
