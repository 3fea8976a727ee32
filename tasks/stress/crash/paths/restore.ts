/**
 * `sess restore NAME --to FILE` killed at random instants, writing a new file or replacing one
 * (`--force`): the file is the old one (or absent) or wholly the session's bytes, never a part.
 * A kill may leave the atomic write's temp file beside the target (outside the store, where no
 * doctor looks): counted, not a failure. The store is only read, so its doctor must find nothing.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {openStore} from '../../../../src/index.ts'
import {sessArgv, sessEnv} from '../../../../test/helpers/cli.ts'
import {sessJsonl} from '../inputs.ts'
import {type CrashPath, failedRun, type PathFactory} from '../path.ts'

/** `restore-to`: a 3 MB session restored into a new file (odd cases) or over an existing one (even). */
export const restorePath: PathFactory = async (dir) => {
  const home = join(dir, 'store')
  const out = join(dir, 'out')
  mkdirSync(out, {recursive: true})
  const input = sessJsonl('restore', 5_000, 600)
  const old = new TextEncoder().encode('an older file that --force replaces\n')
  let temps = 0
  {
    await using store = await openStore({home})
    await store.save({bytes: input.bytes, name: 'big'})
  }
  const path: CrashPath = {
    async arm(n) {
      const force = n % 2 === 0
      const target = join(out, `r${n}.jsonl`)
      if (force) writeFileSync(target, old)
      return {
        async check(_store, outcome) {
          const problems = failedRun(outcome)
          const now = existsSync(target) ? readFileSync(target) : undefined
          const whole = now !== undefined && now.equals(input.bytes)
          if (outcome.exitCode === 0 && !whole) problems.push(`${target}: the restore exited 0, but the file ${now === undefined ? 'is missing' : `holds ${now.length} other bytes`}`)
          else if (now !== undefined && !whole && !(force && now.equals(old))) problems.push(`${target}: torn: ${now.length} bytes, neither the ${force ? 'old file nor the ' : ''}session's ${input.bytes.length}`)
          else if (now === undefined && force) problems.push(`${target}: the file --force replaces is gone`)
          return problems
        },
        async after() {
          for (const name of readdirSync(out)) {
            if (name.startsWith(`.r${n}.jsonl.tmp-`)) temps += 1
            rmSync(join(out, name), {force: true})
          }
        },
        victim: {argv: sessArgv(['restore', 'big', '--to', target, ...(force ? ['--force'] : [])]), env: sessEnv(home)},
      }
    },
    home,
    litter: new Set(),
    summary: () => `${temps} temp files left beside their targets`,
    timing: {afterReady: false},
  }
  return path
}
