/**
 * Benchmarks (d), (e) and (f) of `tasks/bench.ts`: session locks.
 *
 *   (d) uncontended acquire + release in-library: `store.lock` + `lease.release()` against
 *       proper-lockfile's `lock` + release on a file of the same disk, with flock(2) (bun:ffi) and
 *       the same two single-row SQLite writes through raw bun:sqlite as floors;
 *   (e) uncontended via the CLI: `sess lock run NAME -- true` against `flock FILE true`;
 *   (f) throughput under contention: N processes each doing K cycles of lock → read counter →
 *       write counter + 1 → unlock on one shared resource, with sess, proper-lockfile and
 *       flock(1), and whether the final counter is N × K.
 *
 * proper-lockfile is a dev dependency of sess for this benchmark only (here and in `lock-worker.ts`).
 */
import {Database} from 'bun:sqlite'
import {randomBytes} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {lock} from 'proper-lockfile'
import {openStore} from '../../src/index.ts'
import {lockFile} from '../../src/os/flock.ts'
import {timeMs, timeSyncMs} from './stats.ts'

/** Latencies (ms) of one uncontended acquire + release each (see {@link benchUncontended}). */
export interface UncontendedSamples {
  /** `store.lock` + `lease.release()`. */
  sess: number[]
  /** proper-lockfile `lock` (default options) + its release. */
  properLockfile: number[]
  /** open + flock(2) + close of a lock file (the kernel floor). */
  flock: number[]
  /** The grant upsert and the release update of a lock row, raw bun:sqlite, WAL, synchronous=NORMAL (the SQLite floor). */
  sqlite: number[]
  /** sess and proper-lockfile again, each sample right after the process idled 1 ms (a lock taken now and then, not in a loop). */
  idle: {sess: number[]; properLockfile: number[]}
}

/** Options of {@link benchUncontended}. */
export interface UncontendedOptions {
  /** Samples of each method in the loop, after 200 of warm-up; a fifth as many after an idle. */
  samples: number
  progress: (message: string) => void
}

/** Timed acquire + release cycles per method in turn: each block runs one untimed cycle, then this many timed. */
const BLOCK = 100

/** The SQLite floor of a lease: a prepared upsert that grants a free lock row and an update that frees it. */
function sqliteFloor(path: string): {cycle: () => void; close: () => void} {
  const db = new Database(path, {create: true, strict: true})
  db.run('PRAGMA journal_mode = WAL')
  db.run('PRAGMA synchronous = NORMAL')
  db.run('CREATE TABLE IF NOT EXISTS locks (id TEXT PRIMARY KEY, token INTEGER NOT NULL, lease TEXT, expires INTEGER NOT NULL)')
  const grant = db.prepare<{token: number}, {id: string; lease: string; expires: number}>(
    'INSERT INTO locks (id, token, lease, expires) VALUES ($id, 1, $lease, $expires) ON CONFLICT (id) DO UPDATE SET token = token + 1, lease = excluded.lease, expires = excluded.expires WHERE lease IS NULL RETURNING token',
  )
  const release = db.prepare('UPDATE locks SET lease = NULL WHERE id = $id AND token = $token AND lease = $lease')
  return {
    close: () => db.close(),
    cycle: () => {
      const lease = randomBytes(16).toString('hex')
      const row = grant.get({expires: Date.now() + 30_000, id: 'bench', lease})
      if (!row) throw new Error('The SQLite floor found its lock row held.')
      release.run({id: 'bench', lease, token: row.token})
    },
  }
}

/**
 * Runs (d) in `dir`: a fresh store with one session, a file for proper-lockfile, a lock file for
 * flock(2) and a scratch SQLite database, all on the same disk. Each method runs in blocks of
 * {@link BLOCK} back-to-back cycles, the methods in turn (rotating order) until each has
 * `samples`: the steady-state cost, with drifts of the machine's load shared out. Then sess and
 * proper-lockfile alternate, each cycle after a 1 ms sleep: the cost of a lock taken by a process
 * that was idle (caches and CPU cooled, as between the turns of an agent), which is higher.
 */
export async function benchUncontended(dir: string, options: UncontendedOptions): Promise<UncontendedSamples> {
  await using store = await openStore({home: join(dir, 'lock-store')})
  const session = await store.create({kind: 'agent', name: 'bench'})
  const file = join(dir, 'proper-lockfile-resource')
  writeFileSync(file, '')
  const flockPath = join(dir, 'flock-resource.lock')
  const floor = sqliteFloor(join(dir, 'sqlite-floor.db'))
  const sess = () =>
    timeMs(async () => {
      const lease = await store.lock(session.id, {ttl: 30_000})
      await lease.release()
    })
  const properLockfile = () =>
    timeMs(async () => {
      const release = await lock(file)
      await release()
    })
  const methods: [Exclude<keyof UncontendedSamples, 'idle'>, () => Promise<number> | number][] = [
    ['sess', sess],
    ['properLockfile', properLockfile],
    ['flock', () => timeSyncMs(() => lockFile(flockPath, {wait: true}).release())],
    ['sqlite', () => timeSyncMs(floor.cycle)],
  ]
  const samples: UncontendedSamples = {flock: [], idle: {properLockfile: [], sess: []}, properLockfile: [], sess: [], sqlite: []}
  try {
    options.progress('(d) uncontended acquire + release: warm-up')
    for (let i = 0; i < 200; i++) for (const [, time] of methods) await time()
    options.progress(`(d) uncontended acquire + release: ${options.samples.toLocaleString('en')} cycles of each in blocks of ${BLOCK}`)
    for (let round = 0; round * BLOCK < options.samples; round++) {
      for (let m = 0; m < methods.length; m++) {
        const [name, time] = methods[(round + m) % methods.length]!
        await time()
        for (let i = 0; i < BLOCK && samples[name].length < options.samples; i++) samples[name].push(await time())
      }
    }
    const idleSamples = Math.ceil(options.samples / 5)
    options.progress(`(d) uncontended acquire + release: ${idleSamples.toLocaleString('en')} cycles of sess and proper-lockfile after a 1 ms idle`)
    for (let i = 0; i < idleSamples; i++) {
      for (const name of i % 2 === 0 ? (['sess', 'properLockfile'] as const) : (['properLockfile', 'sess'] as const)) {
        await Bun.sleep(1)
        samples.idle[name].push(await (name === 'sess' ? sess() : properLockfile()))
      }
    }
  } finally {
    floor.close()
  }
  return samples
}

/** Wall times (ms) of a CLI figure, or why it could not be measured. */
export interface CliFigure {
  samples: number[]
  /** Set when the command failed (e.g. a CLI without `sess lock`): then there are no samples. */
  error?: string
}

/** Wall times (ms) of (e), run in turn. */
export interface CliLockTimes {
  /** `sess lock run bench -- true`. */
  lockRun: CliFigure
  /** `sess lock acquire bench --pid <this process>`, then `sess lock release TOKEN`: two processes. */
  acquireRelease: CliFigure
  /** `flock FILE true` (flock(1), util-linux). */
  flock: CliFigure
  /** `sess --help`: what starting the CLI costs. */
  help: CliFigure
}

const TOKEN = /^[0-9A-HJKMNP-TV-Z]{26}\.[1-9][0-9]*\.[0-9a-f]{32}$/

/**
 * Runs (e): each command `runs` times, in turn, after one warm-up of each, as real processes
 * (`bun bin/run.ts …` against a fresh store in `dir` holding one session, `bench`). A command
 * that fails is reported with its error and not run again; the others go on.
 */
export async function benchLockCli(repo: string, dir: string, runs: number): Promise<CliLockTimes> {
  const home = join(dir, 'lock-cli-store')
  {
    await using store = await openStore({home})
    await store.create({kind: 'agent', name: 'bench'})
  }
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1', SESS_HOME: home, SESS_LOCK_TOKEN: undefined, XDG_DATA_HOME: join(dir, 'xdg-data')}
  const spawn = (argv: string[]): string => {
    const result = Bun.spawnSync(argv, {cwd: repo, env, stdin: 'ignore'})
    if (result.exitCode !== 0) {
      const output = `${result.stderr.toString()}${result.stdout.toString()}`.trim().split('\n')[0] ?? ''
      throw new Error(`${argv.slice(argv[0] === process.execPath ? 2 : 0).join(' ')} exited ${result.exitCode}: ${output}`)
    }
    return result.stdout.toString()
  }
  const sess = (...args: string[]) => spawn([process.execPath, join(repo, 'bin', 'run.ts'), ...args])
  const flockFile = join(dir, 'flock-cli.lock')
  const commands: [keyof CliLockTimes, () => void][] = [
    ['lockRun', () => sess('lock', 'run', 'bench', '--', 'true')],
    [
      'acquireRelease',
      () => {
        const token = sess('lock', 'acquire', 'bench', '--pid', String(process.pid)).trim().split('\n').at(-1)?.trim() ?? ''
        if (!TOKEN.test(token)) throw new Error(`sess lock acquire printed ${JSON.stringify(token)}, not a lease token`)
        sess('lock', 'release', token)
      },
    ],
    ['flock', () => spawn(['flock', flockFile, 'true'])],
    ['help', () => sess('--help')],
  ]
  const times: CliLockTimes = {acquireRelease: {samples: []}, flock: {samples: []}, help: {samples: []}, lockRun: {samples: []}}
  for (let i = 0; i <= runs; i++) {
    for (const [name, run] of commands) {
      const figure = times[name]
      if (figure.error !== undefined) continue
      try {
        const ms = timeSyncMs(run)
        if (i > 0) figure.samples.push(ms) // run 0 is the warm-up
      } catch (error) {
        figure.error = (error as Error).message
        figure.samples = []
      }
    }
  }
  return times
}

/** One tool's run at one contention level. */
export interface ContentionRun {
  tool: 'sess' | 'proper-lockfile' | 'flock(1)'
  /** Wall time from the start signal until every process exited, ms. */
  ms: number
  /** Cycles done in all: processes × cycles. */
  ops: number
  /** The counter at the end (N × K when no update was lost). */
  counter: number
  /** What is wrong with the result: lost updates, records out of order, a fencing token that fell. Empty when correct. */
  problems: string[]
}

/** One contention level: its processes, cycles per process, and each tool's run. */
export interface ContentionLevel {
  procs: number
  cycles: number
  runs: ContentionRun[]
}

/** Options of {@link benchContention}. */
export interface ContentionOptions {
  /** The contention levels: how many processes. */
  procs: readonly number[]
  /** Cycles per level in all; each process does `ceil(opsPerLevel / procs)`. */
  opsPerLevel: number
  progress: (message: string) => void
}

/** A shell loop of K flock(1) cycles: `flock LOCK sh -c 'n=$(cat COUNTER); echo $((n+1)) > COUNTER'`. */
const FLOCK_LOOP = `echo ready; read go
i=0
while [ "$i" -lt "$3" ]; do
  flock "$1" sh -c 'n=$(cat "$1"); echo $((n + 1)) > "$1"' sh "$2" || exit 1
  i=$((i + 1))
done`

/** Longest a contention run may take before its processes are killed and the benchmark fails, ms. */
const RUN_TIMEOUT_MS = 600_000

const decoder = new TextDecoder()

/**
 * Starts one process per command; once every one has printed `ready`, ends their standard input
 * (the start signal) and times until all have exited.
 *
 * @returns the wall time, ms. @throws when a process fails or the run exceeds {@link RUN_TIMEOUT_MS}.
 */
async function race(commands: string[][], cwd: string): Promise<number> {
  const procs = commands.map((argv) => Bun.spawn(argv, {cwd, stderr: 'pipe', stdin: 'pipe', stdout: 'pipe'}))
  const failure = async (proc: (typeof procs)[number], what: string) => {
    procs.forEach((each) => each.kill())
    return new Error(`A contention worker (${commands[procs.indexOf(proc)]!.slice(0, 3).join(' ')} …) ${what}: ${(await new Response(proc.stderr).text()).trim()}`)
  }
  await Promise.all(
    procs.map(async (proc) => {
      const reader = proc.stdout.getReader()
      let text = ''
      while (!text.includes('ready\n')) {
        const {done, value} = await reader.read()
        if (done) throw await failure(proc, `exited (${await proc.exited}) before it was ready`)
        text += decoder.decode(value)
      }
      reader.releaseLock()
    }),
  )
  const started = performance.now()
  for (const proc of procs) {
    proc.stdin.write('go\n')
    void proc.stdin.end()
  }
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      procs.forEach((proc) => proc.kill())
      reject(new Error(`A contention run did not finish within ${RUN_TIMEOUT_MS / 1000} s.`))
    }, RUN_TIMEOUT_MS)
  })
  try {
    await Promise.race([timeout, Promise.all(procs.map((proc) => proc.exited))])
  } finally {
    clearTimeout(timer)
  }
  const ms = performance.now() - started
  for (const proc of procs) if (proc.exitCode !== 0) throw await failure(proc, `exited ${proc.exitCode}`)
  return ms
}

/**
 * Checks the counter session of a sess run: `expected` `state` records whose `n` runs 1, 2, …
 * (each cycle read the one before it) and whose fencing tokens strictly rise in record order.
 */
async function checkSessCounter(home: string, sessionId: string, expected: number): Promise<{counter: number; problems: string[]}> {
  await using store = await openStore({home})
  const problems: string[] = []
  let counter = 0
  let records = 0
  let token = 0
  for await (const {record, seq} of store.records(sessionId)) {
    records++
    if (record.type !== 'state') {
      problems.push(`record ${seq} is a ${record.type} record`)
      break
    }
    const n = Number(record.state.n)
    const next = Number(record.state.token)
    if (n !== seq && problems.length < 3) problems.push(`record ${seq} holds counter ${n}`)
    if (!(next > token) && problems.length < 3) problems.push(`fencing token ${next} at record ${seq} after ${token}`)
    counter = n
    token = next
  }
  if (counter !== expected || records !== expected) problems.unshift(`LOST UPDATES: counter ${counter}, ${records} records, of ${expected}`)
  return {counter, problems}
}

/** Checks a counter file: it must hold `expected`. */
function checkCounterFile(path: string, expected: number): {counter: number; problems: string[]} {
  const counter = Number(readFileSync(path, 'utf8').trim() || '0')
  return {counter, problems: counter === expected ? [] : [`LOST UPDATES: counter ${counter} of ${expected}`]}
}

/**
 * Runs (f) in `dir`: at each level, sess (a fresh store, one session holding the counter), then
 * proper-lockfile, then flock(1), each with the level's processes doing the same cycles.
 */
export async function benchContention(repo: string, dir: string, options: ContentionOptions): Promise<ContentionLevel[]> {
  const worker = join(repo, 'tasks', 'bench', 'lock-worker.ts')
  const levels: ContentionLevel[] = []
  for (const procs of options.procs) {
    const cycles = Math.ceil(options.opsPerLevel / procs)
    const ops = procs * cycles
    const each = (argv: string[]) => Array.from({length: procs}, () => argv)
    const runs: ContentionRun[] = []

    options.progress(`(f) ${procs} processes × ${cycles} cycles: sess`)
    const home = join(dir, `contention-${procs}-store`)
    let sessionId: string
    {
      await using store = await openStore({home})
      sessionId = (await store.create({kind: 'agent', name: 'counter'})).id
    }
    const sessMs = await race(each([process.execPath, worker, 'sess', home, sessionId, String(cycles)]), repo)
    runs.push({ms: sessMs, ops, tool: 'sess', ...(await checkSessCounter(home, sessionId, ops))})

    options.progress(`(f) ${procs} processes × ${cycles} cycles: proper-lockfile`)
    const file = join(dir, `contention-${procs}-proper-lockfile`)
    writeFileSync(file, '')
    writeFileSync(`${file}.counter`, '0')
    const plfMs = await race(each([process.execPath, worker, 'proper-lockfile', file, String(cycles)]), repo)
    runs.push({ms: plfMs, ops, tool: 'proper-lockfile', ...checkCounterFile(`${file}.counter`, ops)})

    options.progress(`(f) ${procs} processes × ${cycles} cycles: flock(1)`)
    const counter = join(dir, `contention-${procs}-flock.counter`)
    writeFileSync(counter, '0\n')
    const flockMs = await race(each(['sh', '-c', FLOCK_LOOP, 'sh', join(dir, `contention-${procs}-flock.lock`), counter, String(cycles)]), repo)
    runs.push({ms: flockMs, ops, tool: 'flock(1)', ...checkCounterFile(counter, ops)})

    levels.push({cycles, procs, runs})
  }
  return levels
}

/** Cycles per second of a contention run. */
export function opsPerSecond(run: ContentionRun): number {
  return run.ops / (run.ms / 1000)
}
