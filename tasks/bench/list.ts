/**
 * Benchmark (c) of `tasks/bench.ts`: `sess list --limit 50` over a store of many sessions, against
 * `sess --help`, both as real CLI processes.
 */
import {join} from 'node:path'
import {type Insertable, sql} from 'kysely'
import {monotonicFactory} from 'ulid'
import {connectDatabase} from '../../src/db/connect.ts'
import type {SessionsTable, SessionTagsTable} from '../../src/db/schema.ts'
import {openStore} from '../../src/index.ts'
import {storeLayout} from '../../src/store/home.ts'
import {median, timeMs, timeSyncMs} from './stats.ts'

const KINDS = ['chat', 'agent', 'terminal', 'claude-code', 'codex']
const STATUSES = ['completed', 'completed', 'completed', 'terminated', 'paused', 'waiting_for_input']
const TAGS = ['work', 'ci', 'personal', 'review']
const BATCH = 500
const DAY_MS = 86_400_000

/** How a generated store was made. */
export interface Generated {
  sessions: number
  /** `store.create` (one fsynced transaction each) or `bulk` (one transaction). */
  method: 'store.create' | 'bulk'
  /** Measured ms per `store.create` on the first sessions. */
  createMs: number
  /** What generating all of them through `store.create` would take, in s. */
  projectedCreateSeconds: number
  seconds: number
}

/**
 * Fills a new store at `home` (its database at `databaseUrl`, when given: a PostgreSQL database)
 * with `count` sessions. The first ones go through `store.create`, to measure it; if creating them
 * all that way would take over `budgetSeconds` (each create is one durable transaction), the rest
 * are inserted in ONE Kysely transaction, in batches, into the store that `openStore` created and
 * migrated — the same rows `store.create` writes, with varied kinds, statuses, tags and activity
 * times — and the store is then reopened with `openStore` and read, to be sure the schema and the
 * rows are valid.
 */
export async function generateStore(home: string, count: number, budgetSeconds: number, progress: (message: string) => void, databaseUrl?: string): Promise<Generated> {
  const started = performance.now()
  const probe = Math.min(count, 200)
  let createMs = 0
  {
    await using store = await openStore({databaseUrl, home})
    createMs = (await timeMs(async () => {
      for (let i = 0; i < probe; i++) await store.create({kind: KINDS[i % KINDS.length], name: `gen-${i}`, tags: i % 7 === 0 ? ['work'] : []})
    })) / probe
  }
  const projectedCreateSeconds = (createMs * count) / 1000
  let method: Generated['method'] = 'store.create'
  if (projectedCreateSeconds <= budgetSeconds) {
    progress(`creating ${count.toLocaleString('en')} sessions with store.create`)
    await using store = await openStore({databaseUrl, home})
    for (let i = probe; i < count; i++) await store.create({kind: KINDS[i % KINDS.length], name: `gen-${i}`, tags: i % 7 === 0 ? ['work'] : []})
  } else {
    method = 'bulk'
    progress(`store.create would take ~${Math.round(projectedCreateSeconds)} s for ${count.toLocaleString('en')} sessions: bulk-inserting the rest in one transaction`)
    await bulkInsert(databaseUrl ?? storeLayout(home).database, probe, count)
  }
  await using store = await openStore({databaseUrl, home})
  const newest = await store.list({limit: 50})
  if (newest.length !== Math.min(50, count)) throw new Error(`The generated store lists ${newest.length} sessions, not 50.`)
  await store.get(`gen-${count - 1}`)
  return {createMs, method, projectedCreateSeconds, seconds: (performance.now() - started) / 1000, sessions: count}
}

/** Inserts sessions `from`…`to - 1` (named `gen-<n>`) in one transaction, into the database at `location` (a SQLite file or a PostgreSQL URL). */
async function bulkInsert(location: string, from: number, to: number): Promise<void> {
  const {db, destroy, dialect} = await connectDatabase(location)
  const newId = monotonicFactory()
  const now = Date.now()
  const start = now - 365 * DAY_MS
  try {
    await db.transaction().execute(async (trx) => {
      for (let first = from; first < to; first += BATCH) {
        const rows: Insertable<SessionsTable>[] = []
        const tags: Insertable<SessionTagsTable>[] = []
        for (let n = first; n < Math.min(to, first + BATCH); n++) {
          const createdAt = start + Math.floor(((n - from) / (to - from)) * 365 * DAY_MS)
          const lastActivityAt = Math.min(now, createdAt + ((n * 7919) % 3) * DAY_MS + ((n * 104_729) % DAY_MS))
          const records = (n * 31) % 900
          const id = newId(createdAt)
          const status = STATUSES[n % STATUSES.length]!
          rows.push({
            bytes: records * 1100,
            closed_at: status === 'completed' || status === 'terminated' ? lastActivityAt : null,
            created_at: createdAt,
            cwd: `/home/dev/project-${n % 40}`,
            external_id: null,
            format: n % 3 === 0 ? 'claude-code' : null,
            id,
            kind: KINDS[n % KINDS.length]!,
            last_activity_at: lastActivityAt,
            model: n % 2 === 0 ? 'claude-sonnet-4' : null,
            name: `gen-${n}`,
            output_bytes: 0,
            owner_host: null,
            owner_pid: null,
            owner_start_time: null,
            parent_id: null,
            provider: n % 2 === 0 ? 'anthropic' : null,
            record_count: records,
            status,
            title: `Session ${n}`,
            tokens: records * 350,
            trashed_at: null,
            version_count: 0,
          })
          if (n % 7 === 0) tags.push({session_id: id, tag: TAGS[n % TAGS.length]!})
        }
        await trx.insertInto('sessions').values(rows).execute()
        if (tags.length > 0) await trx.insertInto('session_tags').values(tags).execute()
      }
    })
    // PostgreSQL's autovacuum would analyze a table that grew this fast before long; the benchmark
    // does it at once, so that the planner does not measure a table it believes empty.
    if (dialect === 'postgres') await sql`analyze`.execute(db)
  } finally {
    await destroy()
  }
}

/** Wall times (ms) of the two CLI invocations, run alternately. */
export interface CliTimes {
  list: number[]
  help: number[]
  /** `sess list --limit 50` on an empty store: what the command costs before any session is read. */
  listEmpty: number[]
  /** Rows `sess list --limit 50` printed (sanity check). */
  rows: number
}

/**
 * Runs `bun bin/run.ts list --limit 50` (against the store at `home`, and against an empty store
 * at `emptyHome`) and `bun bin/run.ts --help`, `runs` times each, in turn, after one warm-up of
 * each (private XDG data dir, no colours).
 */
export function benchCli(repo: string, home: string, emptyHome: string, runs: number): CliTimes {
  let rows = 0
  const run = (args: string[], store = home): number => {
    const env = {...process.env, NO_COLOR: '1', SESS_HOME: store, XDG_DATA_HOME: join(home, '..', 'xdg-data')}
    return timeSyncMs(() => {
      const result = Bun.spawnSync([process.execPath, join(repo, 'bin', 'run.ts'), ...args], {cwd: repo, env, stdin: 'ignore'})
      if (result.exitCode !== 0) throw new Error(`sess ${args.join(' ')} exited ${result.exitCode}: ${result.stderr.toString()}`)
      if (args[0] === 'list' && store === home) rows = result.stdout.toString().split('\n').filter((text) => /\bgen-\d+\b/.test(text)).length
    })
  }
  const list = ['list', '--limit', '50']
  const help = ['--help']
  run(list)
  run(help)
  run(list, emptyHome)
  const times: CliTimes = {help: [], list: [], listEmpty: [], rows: 0}
  for (let i = 0; i < runs; i++) {
    times.list.push(run(list))
    times.help.push(run(help))
    times.listEmpty.push(run(list, emptyHome))
  }
  times.rows = rows
  return times
}

/** Median list time over median help time. */
export function cliRatio(times: CliTimes): number {
  return median(times.list) / median(times.help)
}
