/**
 * `sess save` killed at random instants: of one large file (`save-file`), and of a directory of
 * files (`save-dir`). The CLI prints a `saved` line as each file commits, so every file it
 * reported (all of them when it exited 0) must be there; any other must be wholly there or not
 * at all, and never twice.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sessArgv, sessEnv} from '../../../../test/helpers/cli.ts'
import type {Store} from '../../../../src/index.ts'
import {sessJsonl} from '../inputs.ts'
import {checkSaved, type CrashPath, failedRun, type PathFactory, purgeAll, type SavedExpectation} from '../path.ts'
import type {VictimOutcome} from '../victim.ts'

/** A kill mid-save leaves at most an unfinished or uncommitted blob. */
const LITTER: ReadonlySet<string> = new Set(['temp-file', 'orphan-content'])

/** `save-file`: `sess save FILE --name NAME` of a 2 MB sess JSONL file of 3,000 records. */
export const saveFilePath: PathFactory = async (dir) => {
  const home = join(dir, 'store')
  mkdirSync(join(dir, 'inputs'), {recursive: true})
  const path: CrashPath = {
    async arm(n) {
      const name = `save-${n}`
      const file = join(dir, 'inputs', `${name}.jsonl`)
      const input = sessJsonl(`save${n}`, 3_000, 600)
      writeFileSync(file, input.bytes)
      return {
        check: (store, outcome) => checkFiles(store, outcome, [{bytes: input.bytes, name, records: input.records}]),
        after: purgeAll,
        victim: {argv: sessArgv(['save', file, '--name', name]), env: sessEnv(home)},
      }
    },
    home,
    litter: LITTER,
    timing: {afterReady: false},
  }
  return path
}

/** `save-dir`: `sess save DIR` of a directory of 12 sess JSONL files of 150 KB each. */
export const saveDirPath: PathFactory = async (dir) => {
  const home = join(dir, 'store')
  const path: CrashPath = {
    async arm(n) {
      const directory = join(dir, 'inputs', `dir-${n}`)
      mkdirSync(directory, {recursive: true})
      const files: SavedExpectation[] = []
      for (let i = 1; i <= 12; i++) {
        const name = `d${n}-f${i}`
        const input = sessJsonl(`d${n}f${i}`, 250, 600)
        writeFileSync(join(directory, `${name}.jsonl`), input.bytes)
        files.push({bytes: input.bytes, name, records: input.records})
      }
      return {check: (store, outcome) => checkFiles(store, outcome, files), after: purgeAll, victim: {argv: sessArgv(['save', directory]), env: sessEnv(home)}}
    },
    home,
    litter: LITTER,
    timing: {afterReady: false},
  }
  return path
}

/**
 * Each of `files` (named as their session) is wholly saved, or absent unless the CLI reported it
 * saved or exited 0; no session of theirs is there twice.
 */
async function checkFiles(store: Store, outcome: VictimOutcome, files: SavedExpectation[]): Promise<string[]> {
  const problems = failedRun(outcome)
  const reported = new Set(outcome.lines.filter((line) => line.startsWith('saved')).map((line) => line.split(/\s+/)[1]))
  const sessions = await store.list({limit: undefined})
  for (const file of files) {
    const found = sessions.filter((s) => s.name === file.name || s.name.startsWith(`${file.name}-`))
    if (found.length > 1) problems.push(`${file.name}: saved ${found.length} times (${found.map((s) => s.name).join(', ')})`)
    const [session] = found
    if (!session) {
      if (reported.has(file.name) || outcome.exitCode === 0) problems.push(`${file.name}: lost: ${outcome.exitCode === 0 ? 'the save exited 0' : 'it was reported saved'}, but it is not there`)
      continue
    }
    if (session.name !== file.name) problems.push(`${file.name}: saved as ${session.name}`)
    problems.push(...(await checkSaved(store, session.id, file)))
  }
  return problems
}
