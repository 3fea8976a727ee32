/**
 * The fault-injection suite of `bun run stress` (DESIGN §7): every write path of the store run
 * under strace(1) with one of its system calls on the store failed: write, pwrite64, fsync,
 * fdatasync, openat, mkdir(at), rename(at), link(at) and unlink(at), with ENOSPC, EDQUOT, EIO or
 * EROFS, or a short write; once (`when=N`) or for good (`when=N+`). Each case then checks what a
 * user would find (see `runCase`).
 *
 * For each path: a template store is built, the command is run once without faults under
 * `strace -e trace=…` to find the calls it makes on the store (and the state it should reach),
 * and the cases put their fault on those calls by their number (see `strace.ts` and
 * `StoreCall.fixed`). The full mode covers every such call with every fault (see `planCases`);
 * the quick mode a seeded sample (`SESS_STRESS_SEED`, default 1), which CI runs. `SESS_STRESS_ONLY=TEXT`
 * runs only the paths whose name holds TEXT (`SESS_STRESS_ONLY='sess gc'`), to rerun a failure; a
 * path's sample does not depend on the others.
 */
import {mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {openStore} from '../../src/index.ts'
import {seededRandom} from '../../test/helpers/random.ts'
import {planCases} from './faults/fault-menu.ts'
import {caseDirs, copyTemplate, GC_FINDINGS, type PreparedPath, runCase, runCommand, storeRoots} from './faults/run-case.ts'
import {type StoreCall, storeCalls} from './faults/store-calls.ts'
import {compareStates, readState} from './faults/store-state.ts'
import {haveStrace, parseTrace, WRITE_SYSCALLS} from './faults/strace.ts'
import {WRITE_PATHS, type WritePath} from './faults/write-paths.ts'
import type {StressSuite, StressTally} from './suite.ts'

/** See the module comment. */
export const faults: StressSuite = async ({log, quick, workDir}) => {
  const tally: StressTally = {badInputs: 0, cases: 0, failures: [], faults: 0, kills: 0, suite: 'faults'}
  if (!haveStrace()) {
    tally.failures.push('strace is not installed: the fault suite needs it (Debian: apt-get install strace).')
    return tally
  }
  const seed = Number(process.env.SESS_STRESS_SEED ?? 1)
  const workers = Math.max(1, Math.min(cpus().length, 4))
  log(`faults: ${quick ? `quick (seed ${seed})` : 'full'}, ${workers} cases at a time`)
  const only = process.env.SESS_STRESS_ONLY
  for (const [index, path] of WRITE_PATHS.entries()) {
    if (only !== undefined && !path.name.includes(only)) continue
    const started = performance.now()
    const base = join(workDir, `path-${index}`)
    const prepared = await preparePath(path, base)
    if (typeof prepared === 'string') {
      tally.failures.push(`${path.name}: ${prepared}`)
      continue
    }
    const cases = planCases(prepared.calls, quick, seededRandom(seed * 1000 + index))
    const results = await runPool(cases, workers, (testCase, worker) => runCase(prepared, testCase, join(base, `case-${worker}`)), (done) => {
      if (!quick && done % 100 === 0) log(`faults: ${path.name}: ${done}/${cases.length} cases`)
    })
    const succeeded = results.filter((result) => result.succeeded).length
    const litter = count(results.flatMap((result) => result.litter))
    const failures = results.flatMap((result) => result.problems)
    tally.cases += results.length
    tally.faults += results.reduce((sum, result) => sum + result.faults, 0)
    tally.failures.push(...failures)
    const seconds = ((performance.now() - started) / 1000).toFixed(0)
    log(
      `faults: ${path.name}: ${prepared.calls.length} store calls, ${results.length} cases (${succeeded} unharmed), ${failures.length} failures, ${seconds} s` +
        (litter ? `; doctor --fix repaired: ${litter}` : ''),
    )
    for (const failure of failures.slice(0, 5)) log(`  ${failure}`)
  }
  return tally
}

/**
 * Builds a path's template in `base/template`, reads its state, and runs its command once
 * without faults under strace: the store calls to fail and the state to reach.
 *
 * @returns the path ready for its cases, or why it cannot be tested (the command fails, or leaves the store unclean, without any fault).
 */
async function preparePath(path: WritePath, base: string): Promise<PreparedPath | string> {
  const template = join(base, 'template')
  mkdirSync(template, {recursive: true})
  const values = await path.prepare(caseDirs(template))
  const files = path.files ?? []
  const first = copyTemplate(template, join(base, 'before'))
  const readable = path.readableBeforeRetry !== false
  const before = readable ? await readState(first.home, first.dir, files) : undefined
  const leftToGc = new Set<string>()
  if (readable) {
    await using store = await openStore({home: first.home})
    for (const finding of (await store.doctor()).findings) if (GC_FINDINGS.has(finding.kind)) leftToGc.add(finding.kind)
  }
  const dry = copyTemplate(template, join(base, 'dry'))
  const traceFile = join(base, 'dry.trace')
  const run = await runCommand(path.command(dry, values), dry, {syscalls: WRITE_SYSCALLS, traceFile})
  if (run.code !== 0) return `fails without any fault (exit ${run.code}): ${run.stderr.trim()}`
  const calls = storeCalls(parseTrace(readFileSync(traceFile, 'utf8')), storeRoots(path, dry), idsIn(template))
  const unchecked = uncheckedDirsync(calls)
  if (unchecked) return unchecked
  const reference = await readState(dry.home, dry.dir, files)
  if (before && compareStates(before, {reference}).length === 0) return 'changes nothing without faults: nothing to test'
  {
    await using store = await openStore({home: dry.home})
    const findings = (await store.doctor()).findings
    if (findings.length > 0) return `leaves the store unclean without any fault: ${findings.map((finding) => `${finding.kind}: ${finding.message}`).join('; ')}`
  }
  return {before, calls, leftToGc, path, reference, template, values}
}

/**
 * Why SQLite's own fsync of the home directory after it opens the WAL (whose result SQLite
 * ignores, see `StoreCall.sqlite`) would leave the WAL's directory entry undurable: unless sess
 * fsyncs the home directory itself after the WAL is opened and before anything is written to it.
 */
function uncheckedDirsync(calls: readonly StoreCall[]): string | undefined {
  if (!calls.some((call) => call.sqlite === 'dirsync')) return undefined
  const walOpened = calls.findLastIndex((call) => call.syscall === 'openat' && call.identity.startsWith('openat ~0/sess.db-wal '))
  const firstWalWrite = calls.findIndex((call) => call.syscall === 'pwrite64' && call.identity === 'pwrite64 ~0/sess.db-wal')
  const ownSync = calls.findIndex((call, index) => index > walOpened && call.identity === 'fsync ~0' && call.sqlite === undefined)
  if (ownSync !== -1 && (firstWalWrite === -1 || ownSync < firstWalWrite)) return undefined
  return "SQLite ignores a failure of its fsync of the home directory after it opens the WAL, and sess does not fsync that directory itself before writing to the WAL: the WAL's directory entry may not be durable"
}

/** The ids (ULIDs) in the names of the files and directories under `directory`: the sessions and blobs a template holds. */
function idsIn(directory: string): Set<string> {
  const names = readdirSync(directory, {recursive: true}).map(String)
  return new Set(names.flatMap((name) => name.match(/[0-9A-HJKMNP-TV-Z]{26}/g) ?? []))
}

/** Runs `work` on every item, `workers` at a time (worker numbers 0…workers-1), in order of the items; `progress` after each. */
async function runPool<T, R>(items: readonly T[], workers: number, work: (item: T, worker: number) => Promise<R>, progress: (done: number) => void): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  let done = 0
  await Promise.all(
    Array.from({length: Math.min(workers, items.length)}, async (_, worker) => {
      while (next < items.length) {
        const index = next++
        results[index] = await work(items[index]!, worker)
        progress(++done)
      }
    }),
  )
  return results
}

/** `a ×3, b` from a list of names. */
function count(names: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1)
  return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ')
}
