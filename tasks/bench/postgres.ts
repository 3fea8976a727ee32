/**
 * Benchmark (l) of `tasks/bench.ts`: what a store shared on PostgreSQL costs, beside the same
 * workload on SQLite in the same run: a durable `store.append`, `store.list` and `sess list` over
 * a store of many sessions, and an uncontended `store.lock` + `lease.release()`.
 *
 * The server is `$SESS_BENCH_POSTGRES_URL` (a URL of a database on a server where the benchmark may
 * create and drop databases of its own), else a throwaway one started with `tasks/postgres.ts`
 * when PostgreSQL is installed; without either, the section says so and measures nothing.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {openStore, type Store} from '../../src/index.ts'
import {postgresBin, startPostgres, stopPostgres} from '../postgres.ts'
import {benchMessage} from './append.ts'
import {generateStore} from './list.ts'
import {formatMs, formatRatio, percentile, type Row, type Section, timeMs, timeSyncMs} from './stats.ts'

/** Names the server of the benchmark when set: the URL of a database whose user may create databases. */
export const BENCH_POSTGRES_URL_ENV = 'SESS_BENCH_POSTGRES_URL'

/** Options of {@link benchPostgres}. */
export interface PostgresBenchOptions {
  /** Fresh sessions appended to, on each engine (records 6–15 of each timed). */
  appendSessions: number
  /** Sessions of the stores listed. */
  sessions: number
  /** The SQLite store of `sessions` sessions that (c) made, listed again here. */
  sqliteListHome: string
  /** Timed `store.list` calls, and `sess list` runs, on each engine. */
  listRuns: number
  cliRuns: number
  /** Timed lock cycles on each engine. */
  lockSamples: number
  /** Budget for `store.create` when generating the store (see `generateStore`), s. */
  createBudgetSeconds: number
  progress: (message: string) => void
}

/** The engines, in the order they are shown. */
type Engine = 'sqlite' | 'postgres'
const ENGINES: readonly Engine[] = ['sqlite', 'postgres']

/** Samples (ms) of each engine. */
type Paired = Record<Engine, number[]>

/** Cycles of one engine before the other takes its turn (lock cycles, list calls). */
const BLOCK = 50

/**
 * Runs (l) in `scratch`. Each workload runs on both engines in turn (alternating sessions, or
 * blocks of {@link BLOCK} calls), so that drifts of the machine's load fall on both alike.
 */
export async function benchPostgres(repo: string, scratch: string, options: PostgresBenchOptions): Promise<Section> {
  const title = '(l) the shared store: PostgreSQL beside SQLite (same workloads, same run)'
  const server = await postgresServer(options.progress)
  if (server === undefined) {
    return {notes: [`skipped: PostgreSQL is not installed (Debian: apt-get install postgresql), and ${BENCH_POSTGRES_URL_ENV} is not set`], rows: [], title}
  }
  try {
    const {progress} = options
    const append = await benchAppends(scratch, await server.database('sess_bench_append'), options)
    progress(`(l) generating a store of ${options.sessions.toLocaleString('en')} sessions on PostgreSQL`)
    const listUrl = await server.database('sess_bench_list')
    const listHome = join(scratch, 'postgres-list-store')
    await generateStore(listHome, options.sessions, options.createBudgetSeconds, (message) => progress(`(l) ${message}`), listUrl)
    const homes = {postgres: {databaseUrl: listUrl, home: listHome}, sqlite: {home: options.sqliteListHome}}
    const list = await benchList(homes, options)
    const cli = benchListCli(repo, homes, options)
    const lock = await benchLocks(scratch, await server.database('sess_bench_lock'), options)

    const p = (samples: number[], q: number) => percentile(samples, q)
    const both = (samples: number[]) => `${formatMs(p(samples, 50))} / ${formatMs(p(samples, 99))}`
    const side = (label: string, paired: Paired): Row[] => [
      {figure: `${label}, SQLite p50 / p99`, value: both(paired.sqlite)},
      {figure: `${label}, PostgreSQL p50 / p99`, value: both(paired.postgres)},
      {figure: `${label}, PostgreSQL / SQLite p50`, value: formatRatio(p(paired.postgres, 50) / p(paired.sqlite, 50))},
    ]
    const sessions = options.sessions.toLocaleString('en')
    return {
      notes: [
        `PostgreSQL ${server.version}: ${server.where}; SQLite: WAL, synchronous=FULL for content, NORMAL for lock rows; both on this machine`,
        `append: records 6–15 of ${options.appendSessions} fresh sessions on each engine (after 5 untimed), the engines alternating session by session; ~1 KB JSON messages; a durable commit each (PostgreSQL: synchronous_commit=on)`,
        `store.list: {limit: 50} over ${sessions} sessions (the stores of (c), generated alike), ${options.listRuns} calls on each engine in blocks of ${BLOCK}; sess list: the CLI, wall time, median of ${options.cliRuns} runs each, in turn`,
        `lock: store.lock + lease.release on one session, ${options.lockSamples} cycles on each engine in blocks of ${BLOCK} (PostgreSQL: the lock-row pool, synchronous_commit=off)`,
        'every statement on PostgreSQL is a round trip to the server (here over loopback TCP); a server across a network adds its latency to each',
      ],
      rows: [
        ...side('store.append at record ~10', append),
        ...side(`store.list({limit: 50}) (${sessions} sessions)`, list),
        {figure: `sess list --limit 50 (${sessions} sessions), SQLite / PostgreSQL median`, value: `${formatMs(p(cli.sqlite, 50))} / ${formatMs(p(cli.postgres, 50))}`},
        {figure: 'sess list, PostgreSQL / SQLite median', value: formatRatio(p(cli.postgres, 50) / p(cli.sqlite, 50))},
        ...side('store.lock + lease.release', lock),
      ],
      title,
    }
  } finally {
    await server.stop()
  }
}

/** A server to measure on, and databases of the benchmark's own on it. */
interface BenchServer {
  /** A new, empty database named `name` (dropped first if there), by URL. */
  database: (name: string) => Promise<string>
  /** Stops the throwaway server, or drops the databases made on the one given. */
  stop: () => Promise<void>
  version: string
  /** Which server, for the notes. */
  where: string
}

/**
 * The server of `$SESS_BENCH_POSTGRES_URL`, else a throwaway one in a directory of the system's
 * temp dir (which the `postgres` user can reach when the benchmark runs as root); `undefined` when
 * there is neither.
 */
async function postgresServer(progress: (message: string) => void): Promise<BenchServer | undefined> {
  const given = process.env[BENCH_POSTGRES_URL_ENV]
  if ((given === undefined || given === '') && postgresBin() === undefined) return undefined
  progress(given ? `(l) using the PostgreSQL server of ${BENCH_POSTGRES_URL_ENV}` : '(l) starting a throwaway PostgreSQL server')
  const dir = given ? undefined : mkdtempSync(join(tmpdir(), 'sess-bench-postgres-'))
  const admin = given || (await startPostgres(dir!)).url
  const made: string[] = []
  const run = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({connectionString: admin})
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }
  const version = await run(async (client) => String((await client.query('show server_version')).rows[0].server_version))
  return {
    database: async (name) => {
      await run(async (client) => {
        await client.query(`drop database if exists ${name} with (force)`)
        await client.query(`create database ${name}`)
      })
      made.push(name)
      const url = new URL(admin)
      url.pathname = `/${name}`
      return url.toString()
    },
    stop: async () => {
      if (dir === undefined) {
        await run(async (client) => Promise.all(made.map((name) => client.query(`drop database if exists ${name} with (force)`))))
        return
      }
      await stopPostgres(dir)
      rmSync(dir, {force: true, recursive: true})
    },
    version,
    where: dir === undefined ? `the server of ${BENCH_POSTGRES_URL_ENV}` : `a throwaway server on 127.0.0.1, data in ${dir} (tasks/postgres.ts: initdb defaults, fsync on)`,
  }
}

/** Appends around record 10 of fresh sessions, the engines alternating session by session. */
async function benchAppends(scratch: string, databaseUrl: string, options: PostgresBenchOptions): Promise<Paired> {
  options.progress(`(l) appends around record 10 in ${options.appendSessions} fresh sessions on each engine`)
  await using sqlite = await openStore({home: join(scratch, 'k-append-sqlite')})
  await using postgres = await openStore({databaseUrl, home: join(scratch, 'k-append-postgres')})
  const stores: Record<Engine, Store> = {postgres, sqlite}
  const samples: Paired = {postgres: [], sqlite: []}
  for (let s = -2; s < options.appendSessions; s++) {
    for (const engine of s % 2 === 0 ? ENGINES : ENGINES.toReversed()) {
      const store = stores[engine]
      const session = await store.create({kind: 'agent', name: `k-${s + 2}`})
      for (let i = 1; i <= 5; i++) await store.append(session.id, benchMessage(i))
      for (let i = 6; i <= 15; i++) {
        const ms = await timeMs(() => store.append(session.id, benchMessage(i)))
        if (s >= 0) samples[engine].push(ms) // the first two sessions warm up
      }
    }
  }
  return samples
}

/** `store.list({limit: 50})` on each engine's store, in blocks. */
async function benchList(homes: Record<Engine, {home: string; databaseUrl?: string}>, options: PostgresBenchOptions): Promise<Paired> {
  options.progress(`(l) store.list over ${options.sessions.toLocaleString('en')} sessions: ${options.listRuns} calls on each engine`)
  await using sqlite = await openStore(homes.sqlite)
  await using postgres = await openStore(homes.postgres)
  return await inBlocks({postgres: () => postgres.list({limit: 50}), sqlite: () => sqlite.list({limit: 50})}, options.listRuns)
}

/** `sess list --limit 50` as a real process on each engine's store, in turn, after a warm-up of each. */
function benchListCli(repo: string, homes: Record<Engine, {home: string; databaseUrl?: string}>, options: PostgresBenchOptions): Paired {
  options.progress(`(l) timing sess list on each engine (${options.cliRuns} runs each after a warm-up)`)
  const run = (engine: Engine) => {
    const {databaseUrl, home} = homes[engine]
    const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1', SESS_HOME: home, XDG_DATA_HOME: join(home, '..', 'xdg-data')}
    if (databaseUrl) env.SESS_DATABASE_URL = databaseUrl
    else delete env.SESS_DATABASE_URL
    return timeSyncMs(() => {
      const result = Bun.spawnSync([process.execPath, join(repo, 'bin', 'run.ts'), 'list', '--limit', '50'], {cwd: repo, env, stdin: 'ignore'})
      if (result.exitCode !== 0) throw new Error(`sess list on ${engine} exited ${result.exitCode}: ${result.stderr.toString()}`)
    })
  }
  for (const engine of ENGINES) run(engine)
  const times: Paired = {postgres: [], sqlite: []}
  for (let i = 0; i < options.cliRuns; i++) for (const engine of ENGINES) times[engine].push(run(engine))
  return times
}

/** Uncontended `store.lock` + `lease.release()` of one session on each engine, in blocks, after a warm-up. */
async function benchLocks(scratch: string, databaseUrl: string, options: PostgresBenchOptions): Promise<Paired> {
  options.progress(`(l) uncontended lock + release: ${options.lockSamples} cycles on each engine`)
  await using sqlite = await openStore({home: join(scratch, 'k-lock-sqlite')})
  await using postgres = await openStore({databaseUrl, home: join(scratch, 'k-lock-postgres')})
  const cycle = async (store: Store) => {
    const {id} = await store.create({kind: 'agent', name: 'k-lock'})
    return async () => {
      const lease = await store.lock(id, {ttl: 30_000})
      await lease.release()
    }
  }
  return await inBlocks({postgres: await cycle(postgres), sqlite: await cycle(sqlite)}, options.lockSamples)
}

/** Times `work` of each engine `samples` times, in blocks of {@link BLOCK} calls taking turns (one untimed call opens each block). */
async function inBlocks(work: Record<Engine, () => Promise<unknown>>, samples: number): Promise<Paired> {
  const times: Paired = {postgres: [], sqlite: []}
  for (let round = 0; times.sqlite.length < samples || times.postgres.length < samples; round++) {
    for (const engine of round % 2 === 0 ? ENGINES : ENGINES.toReversed()) {
      await work[engine]()
      for (let i = 0; i < BLOCK && times[engine].length < samples; i++) times[engine].push(await timeMs(work[engine]))
    }
  }
  return times
}
