/**
 * `sess migrate` killed at random instants, on a store with sessions whose schema was rolled back
 * by two or three migrations (the search index, compression, the coordinator: tables, columns and
 * an index built from every record). The store must open afterwards, which finishes the job, with
 * every migration applied and every session whole.
 */
import {join} from 'node:path'
import {Migrator} from 'kysely/migration'
import {connectDatabase} from '../../../../src/db/connect.ts'
import {migrationProvider} from '../../../../src/db/migrations/index.ts'
import {openStore, type Store} from '../../../../src/index.ts'
import {sessArgv, sessEnv} from '../../../../test/helpers/cli.ts'
import {sessJsonl} from '../inputs.ts'
import {checkSaved, type CrashPath, failedRun, type PathFactory, type SavedExpectation} from '../path.ts'
import type {VictimOutcome} from '../victim.ts'

/** The migrations each case rolls back to, in turn (the ones after it are undone). */
const ROLLBACK_TO = ['2026-11-21T04-coordinator', '2026-11-21T03-cleanup']

/** `migrate`: 30 sessions of 150 records each (4,500 records for the search index to take in; 20 in quick mode). */
export const migratePath: PathFactory = async (dir, {quick}) => {
  const home = join(dir, 'store')
  const saved: (SavedExpectation & {id: string})[] = []
  {
    await using store = await openStore({home})
    for (let i = 1; i <= (quick ? 20 : 30); i++) {
      const input = sessJsonl(`mig${i}`, 150, 600)
      const name = `mig-${i}`
      const {sessionId: id} = await store.save({bytes: input.bytes, name})
      saved.push({bytes: input.bytes, id, name, records: input.records})
    }
  }
  const path: CrashPath = {
    async arm(n) {
      await rollBack(join(home, 'sess.db'), ROLLBACK_TO[n % ROLLBACK_TO.length]!)
      return {check: (store, outcome) => checkMigrated(store, outcome, saved), victim: {argv: sessArgv(['migrate']), env: sessEnv(home)}}
    },
    home,
    litter: new Set(),
    timing: {afterReady: false},
  }
  return path
}

/**
 * Undoes every migration after `target` on the database at `path`, as an older store would be.
 *
 * @throws an `Error` when a migration's `down` fails.
 */
async function rollBack(path: string, target: string): Promise<void> {
  const database = await connectDatabase(path)
  try {
    const {error} = await new Migrator({db: database.db, provider: migrationProvider}).migrateTo(target)
    if (error) throw new Error(`rolling the schema back to ${target} failed: ${(error as Error).message}`)
  } finally {
    await database.destroy()
  }
}

async function checkMigrated(store: Store, outcome: VictimOutcome, saved: (SavedExpectation & {id: string})[]): Promise<string[]> {
  const problems = failedRun(outcome)
  const pending = (await store.migrationStatus()).filter((m) => m.appliedAt === null)
  if (pending.length > 0) problems.push(`the store opened with ${pending.length} migrations still pending: ${pending.map((m) => m.name).join(', ')}`)
  for (const session of saved) problems.push(...(await checkSaved(store, session.id, session)))
  return problems
}
