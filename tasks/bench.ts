/**
 * Benchmark of sess against its targets, measured side by side in one run on one disk:
 *
 *   (a) durable `store.append` latency (p50/p99) against a raw append + fdatasync of the same JSON
 *       line to a plain file, around record 10 and around record 10,000 of one session;
 *   (b) one more message at 10,000 messages: sess against rewriting the whole JSON transcript file
 *       with fsync (what naive agent CLIs do on every message);
 *   (c) `sess list --limit 50` over a store of 100,000 sessions against `sess --help`, both as real
 *       CLI processes (median wall time).
 *
 *   bun run bench            the full run (~1 min)
 *   bun run bench --quick    a smoke run: 2,000 sessions, 1,000 records
 *
 * Prints a table with a target and PASS/MISS per figure (progress goes to stderr). Figures, not a
 * test: it exits 0 whatever they are (1 only if the benchmark itself fails).
 */
import {cpus, tmpdir} from 'node:os'
import {mkdirSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {openStore} from '../src/index.ts'
import {benchAppend, medianRatio} from './bench/append.ts'
import {benchCli, cliRatio, generateStore} from './bench/list.ts'
import {atLeast, atMost, formatMs, percentile, renderReport, type Section} from './bench/stats.ts'

const REPO = join(import.meta.dir, '..')
const quick = process.argv.includes('--quick')

const config = quick
  ? {cliRuns: 5, createBudgetSeconds: 60, earlySessions: 10, late: 1_000, lateSamples: 200, rewriteRounds: 10, sessions: 2_000}
  : {cliRuns: 7, createBudgetSeconds: 60, earlySessions: 40, late: 10_000, lateSamples: 500, rewriteRounds: 15, sessions: 100_000}

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
    const generated = await generateStore(listHome, config.sessions, config.createBudgetSeconds, progress)
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
