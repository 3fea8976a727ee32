/**
 * Benchmark of sess against its targets, measured side by side in one run on one disk:
 *
 *   (a) durable `store.append` latency (p50/p99) against a raw append + fdatasync of the same JSON
 *       line to a plain file, around record 10 and around record 10,000 of one session;
 *   (b) one more message at 10,000 messages: sess against rewriting the whole JSON transcript file
 *       with fsync (what naive agent CLIs do on every message);
 *   (c) `sess list --limit 50` over a store of 100,000 sessions against `sess --help`, both as real
 *       CLI processes (median wall time);
 *   (d) an uncontended session lock acquire + release in-library (`store.lock` + `lease.release()`)
 *       against proper-lockfile (a dev dependency for this benchmark only), with flock(2) and raw
 *       SQLite as floors;
 *   (e) the same through the CLI: `sess lock run NAME -- true` against `flock FILE true`;
 *   (f) lock throughput under contention, 2, 8 and 32 processes incrementing one counter, with sess,
 *       proper-lockfile and flock(1), and whether any update was lost;
 *   (g) `sess record -- cat` of a 100 MiB file against plain `cat` and `asciinema rec`, in a
 *       pseudo-terminal, and `sess replay --no-wait` throughput;
 *   (h) `sess gc --dry-run` and `sess doctor` over the store of (c), and `sess gc` of 10,000
 *       imported sessions against `rm -rf` of the same files;
 *   (i) `store.search` (p50/p99 of several queries) over 100,000 sessions with content, against
 *       `grep -r` over the same text exported as files;
 *   (j) compression: zstd (sess's codec) against gzip on the session corpus (ratio, MiB/s both
 *       ways), and `sess gc` compressing 5,000 idle sessions against `zstd -r` of the same files;
 *   (k) masking credentials (the redact plugin) on the session corpus against the parse it
 *       precedes, and on 10 and 20 MiB of near-matches of every rule (worst case, linearity).
 *   (l) the shared store: append, list and lock on PostgreSQL beside SQLite, with the ratio, when
 *       PostgreSQL is installed (a throwaway server) or `SESS_BENCH_POSTGRES_URL` names one.
 *
 *   bun run bench            the full run (a few minutes)
 *   bun run bench --quick    a smoke run: 2,000 sessions, 1,000 records, contention with 2 and 8 processes, 20 MiB recorded, gc of 1,000, search over 2,000, compression of 500, masking timed for 300 ms, PostgreSQL over 2,000
 *
 * Prints a table with a target and PASS/MISS per figure (progress goes to stderr). Figures, not a
 * test: it exits 0 whatever they are (1 only if the benchmark itself fails).
 */
import {cpus, tmpdir} from 'node:os'
import {mkdirSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {openStore} from '../src/index.ts'
import {benchAppend, medianRatio} from './bench/append.ts'
import {benchCleanup} from './bench/cleanup.ts'
import {benchCompress} from './bench/compress.ts'
import {benchCli, cliRatio, generateStore} from './bench/list.ts'
import {benchContention, benchLockCli, benchUncontended, type CliFigure, opsPerSecond} from './bench/lock.ts'
import {benchRedact} from './bench/redact.ts'
import {benchPostgres} from './bench/postgres.ts'
import {benchReplay} from './bench/replay.ts'
import {benchSearch} from './bench/search.ts'
import {atLeast, atMost, formatMs, formatRatio, percentile, renderReport, type Section} from './bench/stats.ts'

const REPO = join(import.meta.dir, '..')
const quick = process.argv.includes('--quick')
/** The shared corpus of real session files (as the tests find it). */
const CORPUS = process.env.SESS_CORPUS_DIR ?? join(REPO, '..', 'shared', 'corpus')
/** Figures of (j): ms each codec is timed each way, and the sessions gc compresses. */
const compression = quick ? {codecMs: 300, gcSessions: 500} : {codecMs: 2_000, gcSessions: 5_000}
/** Figures of (k): ms masking and parsing are each timed on the corpus, and runs of each near-match input. */
const masking = quick ? {budgetMs: 300, runs: 3} : {budgetMs: 2_000, runs: 7}
/** Figures of (l): fresh sessions appended to, store.list calls and lock cycles on each engine. */
const shared = quick ? {appendSessions: 10, listRuns: 100, lockSamples: 300} : {appendSessions: 40, listRuns: 500, lockSamples: 2_000}

const config = quick
  ? {cliRuns: 5, createBudgetSeconds: 60, earlySessions: 10, gcSessions: 1_000, late: 1_000, lateSamples: 200, lockOps: 400, lockProcs: [2, 8], lockSamples: 500, recordMiB: 20, recordRuns: 1, rewriteRounds: 10, searchRuns: 20, sessions: 2_000}
  : {cliRuns: 7, createBudgetSeconds: 60, earlySessions: 40, gcSessions: 10_000, late: 10_000, lateSamples: 500, lockOps: 3_200, lockProcs: [2, 8, 32], lockSamples: 3_000, recordMiB: 100, recordRuns: 3, rewriteRounds: 15, searchRuns: 50, sessions: 100_000}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}…\n`)
}

/** A scratch directory on the repository's disk: in the system temp dir if that is the same device, else `.bench/`. */
function scratchDir(): {path: string; note: string} {
  const sameDisk = statSync(tmpdir()).dev === statSync(REPO).dev
  const parent = sameDisk ? tmpdir() : join(REPO, '.bench')
  mkdirSync(parent, {recursive: true})
  const path = mkdtempSync(join(parent, 'sess-bench-'))
  const df = Bun.spawnSync(['df', '-P', path]).stdout.toString().trim().split('\n').at(-1)?.split(/\s+/)[0] ?? '?'
  return {note: `${path} (device ${df}; ${sameDisk ? 'same device as the repository' : 'under the repository'})`, path}
}

async function main(): Promise<void> {
  const scratch = scratchDir()
  const started = performance.now()
  const sections: Section[] = []
  try {
    // (a) and (b)
    const appendHome = join(scratch.path, 'append-store')
    const result = await (async () => {
      await using store = await openStore({home: appendHome})
      return await benchAppend(store, scratch.path, {...config, progress})
    })()
    const {early, lateSamples, oneMore} = result
    const lateLabel = `~${result.late.toLocaleString('en')}`
    const p = (samples: number[], q: number) => percentile(samples, q)
    sections.push({
      notes: [
        `records are ~1 KB JSON messages; ${early.store.length} samples around record 10 (records 6–15 of ${config.earlySessions} fresh sessions), ${lateSamples.store.length} around record ${lateLabel}; sess and raw alternate`,
        `raw = one open file, writeSync of the JSON line + fdatasyncSync; sess = store.append (SQLite WAL commit, synchronous=FULL)`,
        `sess p99 includes SQLite's WAL checkpoints (every ~1,000 pages written, each with an fsync of the database file)`,
        `filling the session cost ${formatMs(result.fillMsPerAppend)} per store.append on average`,
      ],
      rows: [
        {figure: 'sess append p50 / p99 at record ~10', value: `${formatMs(p(early.store, 50))} / ${formatMs(p(early.store, 99))}`},
        {figure: 'raw append+fdatasync p50 / p99 at record ~10', value: `${formatMs(p(early.raw, 50))} / ${formatMs(p(early.raw, 99))}`},
        atMost('sess / raw at record ~10, p50', medianRatio(early), 1.5),
        atMost('sess / raw at record ~10, p99', p(early.store, 99) / p(early.raw, 99), 1.5),
        {figure: `sess append p50 / p99 at record ${lateLabel}`, value: `${formatMs(p(lateSamples.store, 50))} / ${formatMs(p(lateSamples.store, 99))}`},
        {figure: `raw append+fdatasync p50 / p99 at record ${lateLabel}`, value: `${formatMs(p(lateSamples.raw, 50))} / ${formatMs(p(lateSamples.raw, 99))}`},
        atMost(`sess / raw at record ${lateLabel}, p50`, medianRatio(lateSamples), 1.5),
        atMost(`sess / raw at record ${lateLabel}, p99`, p(lateSamples.store, 99) / p(lateSamples.raw, 99), 1.5),
        atMost(`sess flatness: record ${lateLabel} / record ~10, p50`, p(lateSamples.store, 50) / p(early.store, 50), 1.2),
        atMost(`sess flatness: record ${lateLabel} / record ~10, p99`, p(lateSamples.store, 99) / p(early.store, 99), 1.2),
      ],
      title: '(a) durable append latency: sess vs raw append + fdatasync',
    })
    sections.push({
      notes: [
        `medians: ${oneMore.sess.length} sess appends (after a full GC), then ${oneMore.rewrite.length} rewrites; the session and the file both at ${lateLabel} messages`,
        'the rewrite serialises all messages (held in memory, as such CLIs do) and rewrites the file in place, then fsync',
        `the transcript file is ${(oneMore.fileBytes / 1_048_576).toFixed(1)} MiB at that point`,
      ],
      rows: [
        {figure: `sess: one more message at ${lateLabel}`, value: formatMs(p(oneMore.sess, 50))},
        {figure: `whole-file rewrite + fsync at ${lateLabel}`, value: formatMs(p(oneMore.rewrite, 50))},
        atLeast('sess is cheaper by', p(oneMore.rewrite, 50) / p(oneMore.sess, 50), 50),
      ],
      title: `(b) one more message at ${lateLabel} messages: sess vs whole-file rewrite`,
    })

    // (c)
    const listHome = join(scratch.path, 'list-store')
    progress(`(c) generating a store of ${config.sessions.toLocaleString('en')} sessions`)
    const generated = await generateStore(listHome, config.sessions, config.createBudgetSeconds, (message) => progress(`(c) ${message}`))
    progress(`(c) timing the CLI (${config.cliRuns} runs each after a warm-up)`)
    const emptyHome = join(scratch.path, 'empty-store')
    await (await openStore({home: emptyHome})).close()
    const cli = benchCli(REPO, listHome, emptyHome, config.cliRuns)
    sections.push({
      notes: [
        `store: ${generated.sessions.toLocaleString('en')} sessions, made in ${generated.seconds.toFixed(1)} s by ${
          generated.method === 'bulk'
            ? `store.create for the first 200 (${formatMs(generated.createMs)} each: ~${Math.round(generated.projectedCreateSeconds)} s for all), then one bulk Kysely transaction`
            : `store.create (${formatMs(generated.createMs)} each)`
        }`,
        `bun bin/run.ts …, wall time, median of ${cli.list.length} runs each after a warm-up, in turn; list printed ${cli.rows} rows`,
      ],
      rows: [
        {figure: `sess list --limit 50 (${generated.sessions.toLocaleString('en')} sessions)`, value: formatMs(p(cli.list, 50))},
        {figure: 'sess --help', value: formatMs(p(cli.help, 50))},
        atMost('list / help', cliRatio(cli), 2),
        {figure: 'sess list --limit 50 (empty store)', value: formatMs(p(cli.listEmpty, 50))},
        {figure: `list at ${generated.sessions.toLocaleString('en')} / list on an empty store`, value: `${(p(cli.list, 50) / p(cli.listEmpty, 50)).toFixed(2)}×`},
      ],
      title: `(c) sess list over ${generated.sessions.toLocaleString('en')} sessions vs sess --help (real processes)`,
    })

    // (h), on the store of (c)
    const cleanup = await benchCleanup(REPO, scratch.path, {bigHome: listHome, gcSessions: config.gcSessions, progress, runs: config.cliRuns, sessions: generated.sessions})

    // (d)
    const lock = await benchUncontended(scratch.path, {progress, samples: config.lockSamples})
    const both = (samples: number[]) => `${formatMs(p(samples, 50))} / ${formatMs(p(samples, 99))}`
    sections.push({
      notes: [
        `${lock.sess.length.toLocaleString('en')} cycles of each after 200 of warm-up, in blocks of 100 back-to-back cycles, the four methods in turn (rotating order); one session / one file, never contended`,
        'sess = the fast path: one upsert that grants the free lock and one update that releases it, on the store\'s lock connection (WAL, synchronous=NORMAL), plus the lease\'s renewal timer and the lock.acquired / lock.released events; its p99 includes WAL checkpoints',
        'proper-lockfile = lock(file) + release() with default options (realpath, mkdir of file.lock, stat, an update timer, rmdir), on a file in the scratch dir',
        'floors: flock(2) = open + flock(LOCK_EX) + close of a lock file (src/os/flock.ts); SQLite = a two-statement lock row (upsert, update) through raw bun:sqlite, prepared once, on a scratch database',
        `after a 1 ms idle: ${lock.idle.sess.length.toLocaleString('en')} cycles of each, sess and proper-lockfile alternating, each right after a 1 ms sleep (a lock taken now and then, not in a loop)`,
      ],
      rows: [
        {figure: 'sess store.lock + lease.release p50 / p99', value: both(lock.sess)},
        {figure: 'proper-lockfile lock + release p50 / p99', value: both(lock.properLockfile)},
        atLeast('proper-lockfile / sess, p50', p(lock.properLockfile, 50) / p(lock.sess, 50), 10),
        {figure: 'proper-lockfile / sess, p99', value: formatRatio(p(lock.properLockfile, 99) / p(lock.sess, 99))},
        {figure: 'floor: flock(2) open + lock + close p50 / p99', value: both(lock.flock)},
        {figure: 'floor: raw SQLite grant + release p50 / p99', value: both(lock.sqlite)},
        {figure: 'sess / raw SQLite floor, p50', value: formatRatio(p(lock.sess, 50) / p(lock.sqlite, 50))},
        {figure: 'after a 1 ms idle: sess p50 / p99', value: both(lock.idle.sess)},
        {figure: 'after a 1 ms idle: proper-lockfile p50 / p99', value: both(lock.idle.properLockfile)},
        {figure: 'after a 1 ms idle: proper-lockfile / sess, p50', value: formatRatio(p(lock.idle.properLockfile, 50) / p(lock.idle.sess, 50))},
      ],
      title: '(d) uncontended lock acquire + release in-library: sess vs proper-lockfile',
    })

    // (e)
    progress(`(e) timing the lock commands of the CLI (${config.cliRuns} runs each after a warm-up)`)
    const cliLock = await benchLockCli(REPO, scratch.path, config.cliRuns)
    const cliMedian = (figure: CliFigure) => (figure.error === undefined ? p(figure.samples, 50) : Number.NaN)
    const cliValue = (figure: CliFigure) => (figure.error === undefined ? formatMs(cliMedian(figure)) : 'n/a (failed)')
    sections.push({
      notes: [
        `wall time, median of ${config.cliRuns} runs each after a warm-up, in turn; sess = bun bin/run.ts … against a store holding one session`,
        'acquire + release = `sess lock acquire bench --pid <bench pid>` then `sess lock release TOKEN`: two CLI processes',
        'informational: starting bun and oclif (sess --help) dominates every sess command',
        ...Object.entries(cliLock).flatMap(([name, figure]) => (figure.error === undefined ? [] : [`${name} failed: ${figure.error}`])),
      ],
      rows: [
        {figure: 'sess lock run bench -- true', value: cliValue(cliLock.lockRun)},
        {figure: 'flock FILE true (flock(1))', value: cliValue(cliLock.flock)},
        {figure: 'sess lock run / flock(1)', value: formatRatio(cliMedian(cliLock.lockRun) / cliMedian(cliLock.flock))},
        {figure: 'sess lock acquire + sess lock release', value: cliValue(cliLock.acquireRelease)},
        {figure: 'sess --help (CLI start)', value: cliValue(cliLock.help)},
        {figure: 'sess lock run − sess --help', value: formatMs(cliMedian(cliLock.lockRun) - cliMedian(cliLock.help))},
      ],
      title: '(e) uncontended lock via the CLI: sess lock run vs flock(1) (real processes)',
    })

    // (f)
    const levels = await benchContention(REPO, scratch.path, {opsPerLevel: config.lockOps, procs: config.lockProcs, progress})
    const rate = (ops: number) => Math.round(ops).toLocaleString('en')
    const verdict = (problems: string[]) => (problems.length === 0 ? 'correct' : (problems[0] ?? '').startsWith('LOST UPDATES') ? 'LOST UPDATES' : 'WRONG')
    sections.push({
      notes: [
        'a cycle: lock → read the counter → write counter + 1 → unlock; every process starts at one signal, timed until the last has exited',
        'sess: store.lock (wait 600 s), read the session\'s last record, append a state record {n, token} (a durable commit: synchronous=FULL), release; waiters poll every 1–8 ms ±50%',
        'sess is correct when the session holds N × K records whose counters run 1, 2, … and whose fencing tokens strictly rise in record order',
        'proper-lockfile: lock(file) retrying forever every 1–10 ms (randomised), counter in a plain file (writeFileSync, not fsynced)',
        'flock(1): a shell loop of `flock LOCK sh -c \'n=$(cat COUNTER); echo $((n+1)) > COUNTER\'` (two forks per cycle; waiters block in the kernel; not fsynced)',
        ...levels.flatMap((level) => level.runs.filter((run) => run.problems.length > 0).map((run) => `${level.procs} processes, ${run.tool}: ${run.problems.join('; ')}`)),
      ],
      rows: levels.flatMap((level) => {
        const [sess, plf, flock] = level.runs
        return [
          {figure: `${level.procs} processes × ${level.cycles.toLocaleString('en')} cycles: ops/s sess / proper-lockfile / flock(1)`, value: level.runs.map((run) => rate(opsPerSecond(run))).join(' / ')},
          {figure: `${level.procs} processes: sess counter = ${(level.procs * level.cycles).toLocaleString('en')}, tokens rising`, pass: sess!.problems.length === 0, target: 'correct', value: verdict(sess!.problems)},
          {figure: `${level.procs} processes: proper-lockfile / flock(1) counters`, value: `${verdict(plf!.problems)} / ${verdict(flock!.problems)}`},
        ]
      }),
      title: `(f) lock throughput under contention: ${config.lockProcs.join(', ')} processes on one counter`,
    })

    // (g)
    sections.push(await benchReplay(REPO, scratch.path, {fileMiB: config.recordMiB, progress, runs: config.recordRuns}))
    sections.push(cleanup)


    // (i)
    sections.push(await benchSearch(scratch.path, {progress, runs: config.searchRuns, sessions: config.sessions}))

    // (j)
    sections.push(await benchCompress(REPO, scratch.path, {...compression, corpus: CORPUS, progress}))

    // (k)
    sections.push(benchRedact({...masking, corpus: CORPUS, progress}))

    // (l), beside the store of (c)
    sections.push(await benchPostgres(REPO, scratch.path, {...shared, cliRuns: config.cliRuns, createBudgetSeconds: config.createBudgetSeconds, progress, sessions: generated.sessions, sqliteListHome: listHome}))
  } finally {
    rmSync(scratch.path, {force: true, recursive: true})
  }
  const cpu = cpus()
  console.log(`sess benchmark${quick ? ' (--quick: smaller counts)' : ''}: ${new Date().toISOString()}, bun ${Bun.version}, ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}`)
  console.log(`scratch dir: ${scratch.note}`)
  console.log(renderReport(sections))
  const rows = sections.flatMap((section) => section.rows).filter((row) => row.pass !== undefined)
  console.log(`\n${rows.filter((row) => row.pass).length} of ${rows.length} targets met; took ${((performance.now() - started) / 1000).toFixed(0)} s. (Figures, not a test: exit 0 either way.)`)
}

try {
  await main()
} catch (error) {
  console.error(`bench failed: ${(error as Error).stack ?? String(error)}`)
  process.exit(1)
}
