/**
 * Disk full for real (DESIGN §7: failure of the disk degrades with a clear message; nothing
 * committed is lost). Each scenario gets a store on a fresh 4 MiB tmpfs that this suite mounts
 * (so it needs root, as CI has; without it, or when the mount fails, the suite reports a failure
 * rather than passing), fills it beside the store (`filler`), and makes a write need more than is
 * left:
 *
 * (a) `sess save` of a file, or a directory, larger than the space left (`disk-full/save.ts`);
 * (b) library appends of records, output events and snapshots until each fails (`disk-full/library.ts`);
 * (c) `sess record` of a command that prints more than the disk holds (`disk-full/record.ts`).
 *
 * Every scenario checks: a clear error naming the full disk and the fix (exit 1), nothing
 * committed lost, no litter left (or `sess doctor --fix` clears it), and once the filler is
 * deleted, a retry that succeeds. Quick mode runs two rounds of (a) and one each of (b) and (c);
 * full mode four, three and three, each leaving a different amount of space.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {libraryScenario} from './disk-full/library.ts'
import {recordScenario} from './disk-full/record.ts'
import {saveScenario} from './disk-full/save.ts'
import type {DiskFullScenario} from './disk-full/scenario.ts'
import {TMPFS_BYTES, withTmpfs} from './disk-full/tmpfs.ts'
import type {StressSuite, StressTally} from './suite.ts'

/** The scenarios, with their rounds in quick and in full mode. */
const SCENARIOS: readonly {name: string; run: DiskFullScenario; rounds: {quick: number; full: number}}[] = [
  {name: 'save', rounds: {full: 4, quick: 2}, run: saveScenario},
  {name: 'library', rounds: {full: 3, quick: 1}, run: libraryScenario},
  {name: 'record', rounds: {full: 3, quick: 1}, run: recordScenario},
]

/** See the module comment. */
export const diskFull: StressSuite = async ({log, quick, workDir}) => {
  const tally: StressTally = {badInputs: 0, cases: 0, failures: [], faults: 0, kills: 0, suite: 'disk-full'}
  if (process.getuid?.() !== 0) {
    tally.failures.push(`disk-full: not run: mounting a tmpfs needs root, and this runs as uid ${process.getuid?.()} (CI runs it as root)`)
    return tally
  }
  const started = performance.now()
  for (const scenario of SCENARIOS) {
    const rounds = quick ? scenario.rounds.quick : scenario.rounds.full
    for (let round = 0; round < rounds; round++) {
      const disk = join(workDir, `${scenario.name}-${round}`, 'disk')
      const scratch = join(workDir, `${scenario.name}-${round}`, 'scratch')
      mkdirSync(scratch, {recursive: true})
      try {
        const result = await withTmpfs(disk, TMPFS_BYTES, () => scenario.run({disk, home: join(disk, 'store'), round, scratch}))
        tally.cases += result.cases
        tally.faults += result.faults
        tally.failures.push(...result.failures)
        log(`disk-full: ${scenario.name} round ${round}: ${result.faults} writes failed on the full disk, ${result.failures.length} failures`)
      } catch (error) {
        tally.failures.push(`disk-full ${scenario.name} (round ${round}): ${(error as Error).message}`)
        if ((error as Error).message.startsWith('cannot mount')) return tally
      }
    }
  }
  log(`disk-full: ${tally.cases} cases, ${tally.faults} writes failed on a full ${TMPFS_BYTES / 1024 / 1024} MiB tmpfs, ${tally.failures.length} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`)
  return tally
}
