/**
 * Benchmark (h) of `tasks/bench.ts`: the cleanup plugin at scale.
 *
 *   - `sess gc --dry-run --max-age 30d` and `sess doctor` over a store of many sessions (the store
 *     of benchmark (c)), as real CLI processes, wall time, median of `runs`;
 *   - `sess gc` collecting N imported sessions (trash, then purge with a grace period of 0: rows
 *     and blob files) against `rm -rf` of a copy of the same blob files.
 */
import {cpSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Insertable} from 'kysely'
import {monotonicFactory} from 'ulid'
import {connectDatabase} from '../../src/db/connect.ts'
import type {SessionsTable, VersionsTable} from '../../src/db/schema.ts'
import {openStore} from '../../src/index.ts'
import {sha256} from '../../src/store/blob-store.ts'
import {storeLayout} from '../../src/store/home.ts'
import {formatMs, formatRatio, median, type Section, timeSyncMs} from './stats.ts'

/** Options of {@link benchCleanup}. */
export interface CleanupBenchOptions {
  /** The store of benchmark (c), with `sessions` sessions. */
  bigHome: string
  sessions: number
  /** Imported sessions gc collects against rm -rf. */
  gcSessions: number
  runs: number
  progress: (message: string) => void
}

const DAY_MS = 86_400_000
const BATCH = 500

/** Runs `sess ARGS` against `home`: wall time in ms; exits with `allowed` codes only. */
export function timeCli(repo: string, home: string, args: string[], allowed: number[] = [0]): number {
  const env = {...process.env, NO_COLOR: '1', SESS_HOME: home, XDG_DATA_HOME: join(home, '..', 'xdg-data')}
  return timeSyncMs(() => {
    const result = Bun.spawnSync([process.execPath, join(repo, 'bin', 'run.ts'), ...args], {cwd: repo, env, stdin: 'ignore'})
    if (!allowed.includes(result.exitCode ?? -1)) throw new Error(`sess ${args.join(' ')} exited ${result.exitCode}: ${result.stderr.toString().slice(0, 500)}`)
  })
}

/**
 * A store at `home` of `count` imported sessions, each with a saved original (a blob file, by
 * default of 2–6 KiB, else `content(n)`) and its versions row, all inactive for 60 days: rows
 * bulk-inserted in one transaction into a store `openStore` created, files written directly (as
 * `store.save` lays them out, without its per-file fsyncs).
 *
 * @returns the bytes of the originals.
 */
export async function generateImported(home: string, count: number, content = lorem): Promise<number> {
  await (await openStore({home})).close()
  const layout = storeLayout(home)
  const {db, destroy} = await connectDatabase(layout.database)
  const newId = monotonicFactory()
  const old = Date.now() - 60 * DAY_MS
  let bytes = 0
  try {
    await db.transaction().execute(async (trx) => {
      for (let first = 0; first < count; first += BATCH) {
        const sessions: Insertable<SessionsTable>[] = []
        const versions: Insertable<VersionsTable>[] = []
        for (let n = first; n < Math.min(count, first + BATCH); n++) {
          const id = newId(old + n)
          const blob = newId(old + n)
          const original = content(n)
          mkdirSync(join(layout.blobs, id), {mode: 0o700, recursive: true})
          writeFileSync(join(layout.blobs, id, blob), original, {mode: 0o600})
          bytes += original.length
          sessions.push({
            bytes: original.length,
            closed_at: old + n,
            created_at: old + n,
            cwd: null,
            external_id: null,
            format: 'raw',
            id,
            kind: 'raw',
            last_activity_at: old + n,
            model: null,
            name: `imported-${n}`,
            output_bytes: 0,
            owner_host: null,
            owner_pid: null,
            owner_start_time: null,
            parent_id: null,
            provider: null,
            record_count: 1,
            status: 'completed',
            title: null,
            tokens: null,
            trashed_at: null,
            version_count: 1,
          })
          versions.push({blob, bytes: original.length, created_at: old + n, damage: '[]', format: 'raw', session_id: id, sha256: sha256(original), version: 1})
        }
        await trx.insertInto('sessions').values(sessions).execute()
        await trx.insertInto('versions').values(versions).execute()
      }
    })
  } finally {
    await destroy()
  }
  return bytes
}

/** The default original of session `n` of {@link generateImported}: 2–6 KiB of JSON. */
function lorem(n: number): Uint8Array {
  return Buffer.from(`${JSON.stringify({n, text: 'lorem ipsum '.repeat(170 + (n % 340))})}\n`)
}

/** Times the cleanup commands; see the module comment. */
export async function benchCleanup(repo: string, scratch: string, options: CleanupBenchOptions): Promise<Section> {
  const {bigHome, progress, runs, sessions} = options
  progress(`(h) timing sess gc --dry-run and sess doctor over ${sessions.toLocaleString('en')} sessions (${runs} runs each after a warm-up)`)
  const dryRun = ['gc', '--dry-run', '--max-age', '30d', '--json']
  const doctor = ['doctor', '--json']
  timeCli(repo, bigHome, dryRun)
  timeCli(repo, bigHome, doctor, [0, 1])
  const times = {doctor: [] as number[], dryRun: [] as number[], help: [] as number[]}
  for (let i = 0; i < runs; i++) {
    times.dryRun.push(timeCli(repo, bigHome, dryRun))
    times.doctor.push(timeCli(repo, bigHome, doctor, [0, 1]))
    times.help.push(timeCli(repo, bigHome, ['--help']))
  }

  progress(`(h) generating ${options.gcSessions.toLocaleString('en')} imported sessions, then sess gc against rm -rf`)
  const gcHome = join(scratch, 'gc-store')
  const bytes = await generateImported(gcHome, options.gcSessions)
  const copy = join(scratch, 'gc-copy')
  cpSync(join(gcHome, 'blobs'), copy, {recursive: true})
  const rmMs = timeSyncMs(() => {
    const result = Bun.spawnSync(['rm', '-rf', copy])
    if (result.exitCode !== 0) throw new Error(`rm -rf failed: ${result.stderr.toString()}`)
  })
  // Two runs: the first moves them to the trash, the second purges them (a grace period of 0).
  const trashMs = timeCli(repo, gcHome, ['gc', '--max-age', '30d', '--trash-grace', '0', '--json'])
  const purgeMs = timeCli(repo, gcHome, ['gc', '--max-age', '30d', '--trash-grace', '0', '--json'])
  const gcMs = trashMs + purgeMs
  const left = await (async () => {
    await using store = await openStore({home: gcHome})
    const stats = await store.stats()
    return stats.sessions.live + stats.trash.sessions
  })()
  rmSync(gcHome, {force: true, recursive: true})
  if (left !== 0) throw new Error(`sess gc left ${left} sessions of ${options.gcSessions}`)
  const help = median(times.help)
  const n = options.gcSessions.toLocaleString('en')
  return {
    notes: [
      `bun bin/run.ts …, wall time, median of ${runs} runs each after a warm-up, in turn, output to a pipe; the store of (c) (index only: no content files)`,
      'gc --dry-run --max-age 30d plans (and prints as JSON) about three quarters of the sessions; doctor checks every row and file, and as the store of (c) counts records it does not hold, it reports (and prints) an index-mismatch finding for most sessions',
      `gc: ${n} imported sessions of 2–6 KiB (${(bytes / 1_048_576).toFixed(1)} MiB in ${n} blob directories), all past --max-age: one run moves them to the trash (500 per transaction), the next purges them (--trash-grace 0: blob directories deleted, then rows)`,
      'rm -rf: of a copy of the same blob directories (files only: it leaves the index as it was)',
    ],
    rows: [
      {figure: `sess gc --dry-run --max-age 30d (${sessions.toLocaleString('en')} sessions)`, pass: median(times.dryRun) <= 2_000, target: '≤ 2 s', value: formatMs(median(times.dryRun))},
      {figure: `sess doctor (${sessions.toLocaleString('en')} sessions)`, pass: median(times.doctor) <= 2_000, target: '≤ 2 s', value: formatMs(median(times.doctor))},
      {figure: 'sess --help (CLI start)', value: formatMs(help)},
      {figure: `sess gc of ${n} sessions: to the trash / purged`, value: `${formatMs(trashMs)} / ${formatMs(purgeMs)}`},
      {figure: `sess gc of ${n} sessions, both runs`, value: formatMs(gcMs)},
      {figure: `rm -rf of the same ${n} blob directories`, value: formatMs(rmMs)},
      {figure: 'sess gc / rm -rf', value: formatRatio(gcMs / rmMs)},
      {figure: '(sess gc − 2 CLI starts) / rm -rf', value: formatRatio((gcMs - 2 * help) / rmMs)},
    ],
    title: `(h) cleanup: sess gc --dry-run and sess doctor over ${sessions.toLocaleString('en')} sessions; gc of ${n} sessions vs rm -rf`,
  }
}
