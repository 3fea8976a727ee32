/**
 * The bad-input suite of `bun run stress`: the bad-input test files (`test/bad-input*.test.ts` and
 * `test/bad-input/**\/*.test.ts`), run by vitest with its JSON reporter. Each test counts as a
 * case and a bad input; each test that fails is a failure. The quick mode runs the same tests.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {REPO} from './repo.ts'
import type {StressSuite, StressTally} from './suite.ts'

/** The files of the suite, relative to the repository. */
const PATTERNS = ['test/bad-input*.test.ts', 'test/bad-input/**/*.test.ts']

/** What vitest's JSON reporter writes (the fields read here; the format of Jest's `--json`). */
interface VitestReport {
  testResults: {name: string; assertionResults: {fullName: string; status: string; failureMessages: string[]}[]}[]
}

/** See the module comment. */
export const badInputs: StressSuite = async ({log, workDir}) => {
  const tally: StressTally = {badInputs: 0, cases: 0, failures: [], faults: 0, kills: 0, suite: 'bad inputs'}
  const files = PATTERNS.flatMap((pattern) => [...new Bun.Glob(pattern).scanSync({cwd: REPO})]).sort()
  if (files.length === 0) {
    log('bad inputs: no test files')
    return tally
  }
  log(`bad inputs: ${files.join(', ')}`)
  const output = join(workDir, 'vitest.json')
  const child = Bun.spawnSync({
    cmd: [process.execPath, '--bun', join(REPO, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--pool=threads', '--reporter=json', `--outputFile=${output}`, ...files],
    cwd: REPO,
    stderr: 'pipe',
    stdout: 'ignore',
  })
  if (!existsSync(output)) {
    tally.failures.push(`bad inputs: vitest wrote no report (exit ${child.exitCode}): ${child.stderr.toString().trim().split('\n').slice(-5).join(' / ')}`)
    return tally
  }
  const report = JSON.parse(readFileSync(output, 'utf8')) as VitestReport
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      tally.cases++
      tally.badInputs++
      if (test.status === 'failed') {
        tally.failures.push(`bad inputs: ${file.name.replace(`${REPO}/`, '')}: ${test.fullName}: ${(test.failureMessages[0] ?? '').split('\n')[0]}`)
      }
    }
  }
  if (child.exitCode !== 0 && tally.failures.length === 0) tally.failures.push(`bad inputs: vitest exited ${child.exitCode} with no failed test: ${child.stderr.toString().trim().split('\n').slice(-3).join(' / ')}`)
  return tally
}
