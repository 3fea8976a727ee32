/**
 * `sess rm NAME…` killed at random instants, to the trash (`rm`) or at once (`rm-purge`), of
 * sessions with an original, records, a snapshot and output. The CLI prints a line as each one
 * goes, so every session it reported (all of them when it exited 0) must be in the trash or gone;
 * any other must be where it was or where it was going, and wherever it is, whole: a session in
 * the trash restores as it was, and a purged one leaves no row and no search entry behind (its
 * blob directory, deleted after the commit, may be left: crash litter).
 */
import {join} from 'node:path'
import {openStore, type Store} from '../../../../src/index.ts'
import {sessArgv, sessEnv} from '../../../../test/helpers/cli.ts'
import {sessJsonl} from '../inputs.ts'
import {checkSaved, type CrashPath, failedRun, type PathFactory, purgeAll, type SavedExpectation, whereIs} from '../path.ts'

/** Sessions removed by one `sess rm`. */
const SESSIONS = 10

/** A removed session and what it held. */
interface Removed extends SavedExpectation {
  id: string
  word: string
  snapshot: Uint8Array
  output: string
}

/** `rm` (`purge: false`) or `rm-purge`. */
export function removePath(purge: boolean): PathFactory {
  return async (dir) => {
    const home = join(dir, 'store')
    const path: CrashPath = {
      async arm(n) {
        const removed: Removed[] = []
        {
          await using store = await openStore({home})
          for (let i = 1; i <= SESSIONS; i++) {
            const input = sessJsonl(`rm${n}x${i}`, 40, 300)
            const name = `rm${n}-${i}`
            const {sessionId: id} = await store.save({bytes: input.bytes, name})
            const snapshot = new TextEncoder().encode(`state of ${name} `.repeat(200))
            await store.snapshot(id, snapshot)
            const output = `output of ${name}\r\n`
            await store.appendOutput(id, {code: 'o', data: output, time: 0.5})
            removed.push({bytes: input.bytes, id, name, output, records: input.records, snapshot, word: input.word})
          }
        }
        return {
          check: (store, outcome) => checkRemoved(store, outcome, removed, purge),
          after: purgeAll,
          victim: {argv: sessArgv(['rm', ...removed.map((s) => s.name), ...(purge ? ['--purge'] : [])]), env: sessEnv(home)},
        }
      },
      home,
      litter: new Set(purge ? ['orphan-content'] : []),
      timing: {afterReady: false},
    }
    return path
  }
}

async function checkRemoved(store: Store, outcome: Parameters<typeof failedRun>[0], removed: Removed[], purge: boolean): Promise<string[]> {
  const problems = failedRun(outcome)
  const reported = new Set(outcome.lines.map((line) => /^(?:Deleted|Moved) (\S+)/.exec(line)?.[1]))
  const goal = purge ? 'gone' : 'trashed'
  for (const session of removed) {
    const where = await whereIs(store, session.id)
    if ((reported.has(session.name) || outcome.exitCode === 0) && where !== goal) problems.push(`${session.name}: reported removed, but it is ${where}`)
    if (where !== 'live' && where !== goal) problems.push(`${session.name}: ${where}, though \`sess rm${purge ? ' --purge' : ''}\` moves it from live to ${goal}`)
    if (where === 'gone') {
      const hits = await store.search(session.word, {includeTrashed: true, limit: 0})
      if (hits.length > 0) problems.push(`${session.name}: purged, but the search index still finds ${hits.length} of its records`)
      continue
    }
    if (where === 'trashed') await store.untrash(session.id)
    problems.push(...(await checkSaved(store, session.id, session)))
    try {
      const {bytes} = await store.latestSnapshot(session.id)
      if (!Buffer.from(bytes).equals(session.snapshot)) problems.push(`${session.name}: its snapshot reads back other bytes`)
      const events = []
      for await (const event of store.output(session.id)) events.push(event.data)
      if (events.join('') !== session.output) problems.push(`${session.name}: its output reads back as ${JSON.stringify(events.join('').slice(0, 80))}`)
    } catch (error) {
      problems.push(`${session.name}: ghost: its snapshot or output cannot be read: ${(error as Error).message}`)
    }
  }
  return problems
}
