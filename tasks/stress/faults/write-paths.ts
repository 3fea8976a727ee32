import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Migrator} from 'kysely/migration'
import {connectDatabase} from '../../../src/db/connect.ts'
import {migrationProvider} from '../../../src/db/migrations/index.ts'
import {openStore} from '../../../src/index.ts'
import {REPO} from '../repo.ts'

const DAY = 86_400_000

/** What a case of a write path runs in: its own copy of the path's template. */
export interface CaseDirs {
  /** The case's directory: `home/` (the store), `in/` (files to save), `out/` (where `restore --to` writes). */
  dir: string
  home: string
}

/** What a path's template gives its commands (e.g. a lease token), the same for every copy. */
export type TemplateValues = Record<string, string>

/** A write path of the store, driven as a user (or an application) drives it. */
export interface WritePath {
  name: string
  /** Builds the store (and input files) this path starts from, in `dirs`; what the command needs from it. */
  prepare: (dirs: CaseDirs) => Promise<TemplateValues>
  /** The command that writes (argv after `bun`), run from the repository. */
  command: (dirs: CaseDirs, values: TemplateValues) => string[]
  /** Directories of the case besides the home that the command writes to (its store, for this path), relative to `dir`. */
  outside?: string[]
  /** Files outside the database that are part of the state, relative to `dir`. */
  files?: string[]
  /** Whether the store may be read back (by the library, which migrates it) before the command is retried: not for `sess migrate` itself. */
  readableBeforeRetry?: boolean
}

/** `bun bin/run.ts ARGS…`: the CLI. */
function cli(...args: string[]): string[] {
  return [join(REPO, 'bin', 'run.ts'), ...args]
}

/** `bun tasks/stress/store-writes.ts OPERATION HOME app`: a library write. */
function library(operation: string, home: string): string[] {
  return [join(REPO, 'tasks', 'stress', 'store-writes.ts'), operation, home, 'app']
}

/** A small session in sess JSONL, its times `age` ms before now. */
function sessFile(name: string, records: number, age: number): string {
  const at = Date.now() - age
  const header = {sess: 1, session: {createdAt: at - 60_000, cwd: '/home/dev/project', kind: 'chat', lastActivityAt: at, name, status: 'completed', tags: [], title: `${name}, saved by bun run stress`}}
  const lines = [JSON.stringify(header)]
  for (let i = 0; i < records; i++) {
    lines.push(JSON.stringify({parts: [{text: `${name}: message ${i + 1} of ${records}, with some text to store`, type: 'text'}], role: i % 2 ? 'assistant' : 'user', ts: at - (records - i) * 1000, type: 'message'}))
  }
  return `${lines.join('\n')}\n`
}

/**
 * The store every path starts from, in `dirs.home`: an imported Claude Code transcript
 * (`claude`), an imported asciicast recording (`cast`), and a session an application records
 * (`app`: records, output events and a snapshot; active, owned by this process).
 */
async function baseStore(dirs: CaseDirs): Promise<void> {
  for (const sub of ['in', 'out']) mkdirSync(join(dirs.dir, sub), {recursive: true})
  await using store = await openStore({home: dirs.home})
  const fixtures = join(REPO, 'test', 'fixtures', 'sessions')
  await store.save({bytes: readFileSync(join(fixtures, 'hello-claude.jsonl')), name: 'claude', path: 'hello-claude.jsonl'})
  await store.save({bytes: readFileSync(join(fixtures, 'hello.cast')), name: 'cast', path: 'hello.cast'})
  const app = await store.create({kind: 'agent', name: 'app'})
  for (let i = 1; i <= 3; i++) await store.append(app.id, {parts: [{text: `record ${i}`, type: 'text'}], role: 'user', ts: 1_700_000_000_000 + i, type: 'message'})
  await store.appendOutput(app.id, [
    {code: 'o', data: '$ make\r\n', time: 0.5},
    {code: 'o', data: 'done\r\n', time: 1.5},
  ])
  await store.snapshot(app.id, {draft: 'first', step: 1})
}

/** The write paths `bun run stress` fails: every way a command or the library writes to a store. */
export const WRITE_PATHS: readonly WritePath[] = [
  {
    command: (dirs) => cli('save', join(dirs.dir, 'in', 'fresh.jsonl'), '--name', 'fresh'),
    name: 'sess save FILE',
    prepare: async (dirs) => {
      await baseStore(dirs)
      writeFileSync(join(dirs.dir, 'in', 'fresh.jsonl'), sessFile('fresh', 6, DAY))
      return {}
    },
  },
  {
    command: (dirs) => cli('save', join(dirs.dir, 'in', 'v2.jsonl'), '--session', 'claude'),
    name: 'sess save FILE --session',
    prepare: async (dirs) => {
      await baseStore(dirs)
      writeFileSync(join(dirs.dir, 'in', 'v2.jsonl'), sessFile('claude-v2', 4, DAY))
      return {}
    },
  },
  {
    command: (dirs) => cli('save', join(dirs.dir, 'in', 'batch')),
    name: 'sess save DIR',
    prepare: async (dirs) => {
      await baseStore(dirs)
      const batch = join(dirs.dir, 'in', 'batch')
      mkdirSync(batch)
      writeFileSync(join(batch, 'alpha.jsonl'), sessFile('alpha', 3, DAY))
      writeFileSync(join(batch, 'beta.cast'), readFileSync(join(REPO, 'test', 'fixtures', 'sessions', 'hello.cast'), 'utf8').replace('hello', 'beta'))
      return {}
    },
  },
  {command: (dirs) => library('append', dirs.home), name: 'store.append', prepare: baseValues},
  {command: (dirs) => library('output', dirs.home), name: 'store.appendOutput', prepare: baseValues},
  {command: (dirs) => library('snapshot', dirs.home), name: 'store.snapshot', prepare: baseValues},
  {
    command: (dirs) => cli('restore', 'claude', '--to', join(dirs.dir, 'out', 'claude.jsonl')),
    files: ['out/claude.jsonl'],
    name: 'sess restore --to',
    outside: ['out'],
    prepare: baseValues,
  },
  {
    command: (dirs) => cli('restore', 'cast', '--to', join(dirs.dir, 'out', 'old.cast'), '--force'),
    files: ['out/old.cast'],
    name: 'sess restore --to --force',
    outside: ['out'],
    prepare: async (dirs) => {
      await baseStore(dirs)
      writeFileSync(join(dirs.dir, 'out', 'old.cast'), 'an older file that --force replaces\n')
      return {}
    },
  },
  {command: () => cli('rm', 'cast'), name: 'sess rm', prepare: baseValues},
  {command: () => cli('rm', 'cast', '--purge'), name: 'sess rm --purge', prepare: baseValues},
  {
    command: () => cli('gc', '--max-age', '3650d', '--compress-after', '1h'),
    name: 'sess gc',
    prepare: async (dirs) => {
      await baseStore(dirs)
      // A session idle for 20 years (trashed by --max-age), one in the trash for 30 days (purged), and crash litter.
      const past = Date.now() - 30 * DAY
      {
        await using store = await openStore({home: dirs.home, now: () => past})
        await store.save({bytes: new TextEncoder().encode(sessFile('old', 3, 20 * 365 * DAY)), name: 'old'})
        await store.save({bytes: new TextEncoder().encode(sessFile('gone', 3, 40 * DAY)), name: 'gone'})
        await store.remove('gone')
      }
      await using store = await openStore({home: dirs.home})
      const claude = await store.get('claude')
      writeFileSync(join(dirs.home, 'blobs', claude.id, '.01JD3F6Q8W0000000000000000.tmp-0123456789ab'), 'a temp file a crash left\n', {mode: 0o600})
      writeFileSync(join(dirs.home, 'blobs', claude.id, '01JD3F6Q8W0000000000000001'), 'a blob no row names\n', {mode: 0o600})
      return {}
    },
  },
  {
    command: () => cli('migrate'),
    name: 'sess migrate',
    prepare: async (dirs) => {
      await baseStore(dirs)
      // Back to the schema before full-text search and compression: `sess migrate` applies both again.
      const database = await connectDatabase(join(dirs.home, 'sess.db'))
      try {
        const {error} = await new Migrator({db: database.db, provider: migrationProvider}).migrateTo('2026-11-21T04-coordinator')
        if (error) throw error
      } finally {
        await database.destroy()
      }
      return {}
    },
    readableBeforeRetry: false,
  },
  {command: () => cli('lock', 'acquire', 'app', '--pid', String(process.pid), '--ttl', '1h'), name: 'sess lock acquire', prepare: baseValues},
  {
    command: (_dirs, values) => cli('lock', 'release', values.token ?? ''),
    name: 'sess lock release',
    prepare: async (dirs) => {
      await baseStore(dirs)
      await using store = await openStore({home: dirs.home})
      const lease = await store.lock('app', {pid: process.pid, ttl: 3_600_000})
      return {token: lease.detach()}
    },
  },
  {command: () => cli('config', 'set', 'gc.maxAge', '30d'), files: ['home/config.json'], name: 'sess config set', prepare: baseValues},
]

async function baseValues(dirs: CaseDirs): Promise<TemplateValues> {
  await baseStore(dirs)
  return {}
}
