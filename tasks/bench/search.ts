/**
 * Benchmark (i) of `tasks/bench.ts`: `store.search` over a store of many sessions with content,
 * against `grep -r` over the same text exported as one file per session.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Insertable} from 'kysely'
import {monotonicFactory} from 'ulid'
import {connectDatabase} from '../../src/db/connect.ts'
import type {RecordsTable, SessionsTable} from '../../src/db/schema.ts'
import {openStore} from '../../src/index.ts'
import type {IndexEntry} from '../../src/search/search-index.ts'
import {recordText} from '../../src/search/text.ts'
import {emptyRow} from '../../src/store/context.ts'
import {storeLayout} from '../../src/store/home.ts'
import type {SessionRecord} from '../../src/session/types.ts'
import {formatMs, formatRatio, median, percentile, type Row, type Section, timeMs, timeSyncMs} from './stats.ts'

/** Options of {@link benchSearch}. */
export interface SearchBenchOptions {
  sessions: number
  /** Timed runs of each query (after a warm-up). */
  runs: number
  progress: (message: string) => void
}

const BATCH = 250
const DAY_MS = 86_400_000
const TOOLS = ['Bash', 'Read', 'Edit', 'Grep', 'Write', 'WebFetch']
/** Words of the generated text, drawn with a Zipf-like skew (the first ones are the most frequent). */
const VOCABULARY = `the to of and a in is it you that for on with this be are as not have can use we add
file function test error value return run build change code fix check update type config module line
import export class method string number object array list map set request response server client
query index table column database cache session user token login password auth key route handler
deploy release branch commit merge review issue bug crash timeout retry socket connection refused
network proxy header cookie payload schema migration rollback transaction lock queue worker thread
memory leak profile benchmark latency throughput parser lexer tokenizer compiler runtime garbage
collector allocator pointer buffer stream pipe signal process child parent kernel syscall mutex
semaphore channel async await promise callback event emitter listener observer subscription`
  .split(/\s+/)
  .filter(Boolean)

/** A deterministic pseudo-random generator (mulberry32), so every run generates the same store. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** `count` words drawn from the vocabulary, the first words far more often (Zipf-like). */
function sentence(next: () => number, count: number): string {
  return Array.from({length: count}, () => VOCABULARY[Math.floor(VOCABULARY.length * next() ** 2.5)]!).join(' ')
}

/** The records of generated session `n`: a short agent conversation with a tool call and its result. */
function conversation(n: number, next: () => number): SessionRecord[] {
  const tool = TOOLS[n % TOOLS.length]!
  const text = (role: string, words: number, extra = '') => ({parts: [{text: `${sentence(next, words)}${extra}`, type: 'text' as const}], role, type: 'message' as const})
  return [
    text('user', 20 + Math.floor(next() * 30), ` ticket TKT${n}`),
    text('assistant', 40 + Math.floor(next() * 60)),
    {args: {command: `${sentence(next, 6)} --project p${n % 500}`}, callId: `call-${n}`, name: tool, type: 'tool_call'},
    {callId: `call-${n}`, result: `${sentence(next, 30 + Math.floor(next() * 50))}${n % 50 === 0 ? ' connection refused by upstream' : ''}`, type: 'tool_result'},
    text('assistant', 30 + Math.floor(next() * 40)),
    text('user', 10 + Math.floor(next() * 20)),
  ]
}

/**
 * A store at `home` of `count` sessions with six records each, rows bulk-inserted in one
 * transaction (indexed for search in it, through the store's own index, as appends are), and the
 * same text exported to `exportDir` as one file per session (`<n / 1000>/<n>.txt`, one line per
 * record), for grep.
 */
async function generate(home: string, exportDir: string, count: number): Promise<{records: number; textBytes: number}> {
  await (await openStore({home})).close()
  const {db, destroy, search} = await connectDatabase(storeLayout(home).database)
  const newId = monotonicFactory()
  const next = random(42)
  const now = Date.now()
  let records = 0
  let textBytes = 0
  try {
    await db.transaction().execute(async (trx) => {
      for (let first = 0; first < count; first += BATCH) {
        const sessions: Insertable<SessionsTable>[] = []
        const rows: Insertable<RecordsTable>[] = []
        const entries: IndexEntry[] = []
        for (let n = first; n < Math.min(count, first + BATCH); n++) {
          const at = now - ((n * 7919) % 365) * DAY_MS
          const id = newId(at)
          const transcript = conversation(n, next)
          sessions.push({...emptyRow(id, `gen-${n}`, n % 3 === 0 ? 'chat' : 'agent', at), record_count: transcript.length, status: 'completed'})
          transcript.forEach((record, i) => {
            rows.push({body: JSON.stringify(record), seq: i + 1, session_id: id, ts: at, type: record.type})
            entries.push({record, seq: i + 1, sessionId: id})
          })
          const dir = join(exportDir, String(Math.floor(n / 1000)))
          if (n % 1000 === 0) mkdirSync(dir, {recursive: true})
          const text = `${transcript.map((record) => recordText(record).replaceAll('\n', ' ')).join('\n')}\n`
          writeFileSync(join(dir, `${n}.txt`), text)
          textBytes += text.length
          records += transcript.length
        }
        await trx.insertInto('sessions').values(sessions).execute()
        await trx.insertInto('records').values(rows).execute()
        await search.index(trx, entries)
      }
    })
  } finally {
    await destroy()
  }
  return {records, textBytes}
}

/** A query of the benchmark, and the grep that finds the same text (case-insensitive, fixed strings). */
interface BenchQuery {
  label: string
  query: string
  /** `grep -rliF` patterns: all must be in a file. */
  grep: string[]
}

/** The queries over a store of `sessions` generated sessions. */
const queries = (sessions: number): BenchQuery[] => [
  {grep: [`tkt${Math.floor(sessions * 0.4711)}`], label: 'a rare word (one session)', query: `TKT${Math.floor(sessions * 0.4711)}`},
  {grep: ['connection refused'], label: 'a phrase (2% of sessions)', query: '"connection refused"'},
  {grep: ['semaphore'], label: 'a word of the long tail', query: 'semaphore'},
  {grep: ['deploy', 'rollback'], label: 'two words (AND)', query: 'deploy rollback'},
  {grep: ['webfetch'], label: 'a tool name (1 in 6 sessions)', query: 'WebFetch'},
  {grep: ['the'], label: 'the most common word (nearly every record)', query: 'the'},
]

/** Wall time of `grep -rliF` for `patterns` over `dir`, in ms: all must be in a file (each grep after the first reads the files the one before listed, through xargs). */
function grepMs(dir: string, patterns: string[]): number {
  const [first, ...more] = patterns.map((pattern) => `'${pattern}'`)
  const pipeline = [`grep -rliF ${first} '${dir}'`, ...more.map((pattern) => `xargs -r grep -liF ${pattern}`)].join(' | ')
  return timeSyncMs(() => {
    const result = Bun.spawnSync(['sh', '-c', `${pipeline} > /dev/null`], {env: {...process.env, LC_ALL: 'C'}})
    if (result.exitCode !== 0 && result.exitCode !== 1 && result.exitCode !== 123) throw new Error(`${pipeline} failed: ${result.stderr.toString()}`)
  })
}

/** Times the search; see the module comment. */
export async function benchSearch(scratch: string, options: SearchBenchOptions): Promise<Section> {
  const {progress, runs, sessions} = options
  const home = join(scratch, 'search-store')
  const exportDir = join(scratch, 'search-export')
  progress(`(i) generating ${sessions.toLocaleString('en')} sessions with content, and exporting their text for grep`)
  const started = performance.now()
  const {records, textBytes} = await generate(home, exportDir, sessions)
  const generatedSeconds = (performance.now() - started) / 1000
  progress(`(i) timing ${queries(sessions).length} queries (${runs} runs each after a warm-up), and grep -r`)
  const rows: Row[] = []
  const notes: string[] = []
  await using store = await openStore({home})
  for (const q of queries(sessions)) {
    const hits = (await store.search(q.query, {limit: 20})).length
    const samples: number[] = []
    for (let i = 0; i < runs; i++) samples.push(await timeMs(() => store.search(q.query, {limit: 20})))
    grepMs(exportDir, q.grep) // warm the page cache
    const grep = median(Array.from({length: 3}, () => grepMs(exportDir, q.grep)))
    const p99 = percentile(samples, 99)
    rows.push({figure: `${q.label}: ${q.query}, p50 / p99`, pass: p99 <= 250, target: 'p99 ≤ 250 ms', value: `${formatMs(median(samples))} / ${formatMs(p99)}`})
    rows.push({figure: `  grep -r of the same / sess p50`, value: `${formatMs(grep)}, ${formatRatio(grep / median(samples))}`})
    notes.push(`${q.query}: ${hits} hits shown (top 20)`)
  }
  return {
    notes: [
      `store: ${sessions.toLocaleString('en')} sessions, ${records.toLocaleString('en')} records (${(textBytes / 1_048_576).toFixed(0)} MiB of indexed text), generated and indexed in ${generatedSeconds.toFixed(1)} s (one transaction)`,
      `store.search(query, {limit: 20}) in-process, ${runs} runs per query after a warm-up; ranking (bm25, exact phrases first) covers every match, not only the 20 shown`,
      `grep: LC_ALL=C grep -rliF over the same text, one file per session (${sessions.toLocaleString('en')} files), median of 3 after a warm-up; for two words, a second grep over the files the first listed`,
      "'the' is in nearly every record: the worst case, every match ranked",
      ...notes,
    ],
    rows,
    title: `(i) full-text search over ${sessions.toLocaleString('en')} sessions: store.search vs grep -r`,
  }
}
