/**
 * The CLI's commands and conventions (DESIGN §3) through the real binary: list filters and JSON
 * shapes, show, rm / trash / purge, fork, migrate, help with examples, NO_COLOR, usage errors.
 */
import {Database} from 'bun:sqlite'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeAll, beforeEach, describe, expect, onTestFinished, test} from 'vitest'
import type {MigrateResult} from '../src/commands/migrate.ts'
import type {RemovedSession} from '../src/commands/rm.ts'
import type {ShowResult} from '../src/commands/show.ts'
import type {RestoreReport} from '../plugins/persistence/src/commands/restore.ts'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import {openStore} from '../src/index.ts'
import type {Session} from '../src/session/types.ts'
import {CORPUS, type CliResult, REPO, sess, sessJson as runJson, useTempDir} from './helpers/cli.ts'
import {DIALECTS, type StoreTarget, storedBlobs, storeTarget} from './helpers/dialects.ts'

function run(home: string, args: string[], env: Record<string, string> = {}): CliResult {
  return sess(home, args, {env})
}

/** The CLI with exactly `env` (plus PATH and HOME): for colour tests, where an inherited FORCE_COLOR would interfere. */
function runWithEnv(home: string, args: string[], env: Record<string, string>): CliResult {
  const result = Bun.spawnSync([process.execPath, join(REPO, 'bin', 'run.ts'), ...args], {
    cwd: REPO,
    env: {HOME: process.env.HOME ?? '/tmp', PATH: process.env.PATH ?? '/usr/bin:/bin', SESS_HOME: home, XDG_DATA_HOME: join(home, '..', 'xdg-data'), ...env},
    stdin: 'ignore',
  })
  return {bytes: new Uint8Array(result.stdout), code: result.exitCode ?? -1, stderr: result.stderr.toString(), stdout: result.stdout.toString()}
}

function noStackTrace(result: {stderr: string}): void {
  expect(result.stderr).not.toMatch(/^\s{4}at /m)
}

const ESC = '\u001b'
const DAY = 86_400_000

describe('sess list', () => {
  const dir = useTempDir('sess-list-')
  const home = join(dir.path, 'home')
  const at = (iso: string) => Date.parse(iso)
  /** Seeded through the library with a fake clock: name → [kind, status, tags, last activity]. */
  const SEED = {
    alpha: ['chat', 'active', ['work'], at('2020-01-01T12:00:00Z')],
    beta: ['agent', 'paused', ['work', 'urgent'], at('2021-01-01T12:00:00Z')],
    gamma: ['terminal', 'completed', [], at('2022-01-01T12:00:00Z')],
    delta: ['chat', 'waiting_for_input', ['home'], at('2023-01-01T12:00:00Z')],
  } as const
  const ids: Record<string, string> = {}

  const names = (args: string[]): string[] => {
    const result = runJson<Session[]>(home, ['list', ...args])
    expect(result.code, result.stderr).toBe(0)
    return result.json.map((s) => s.name)
  }

  beforeAll(async () => {
    let clock = 0
    await using store = await openStore({home, now: () => clock})
    for (const [name, [kind, status, tags, time]] of Object.entries(SEED)) {
      clock = time
      const session = await store.create({kind, name, status, tags: [...tags]})
      ids[name] = session.id
      if (name === 'delta') {
        await store.append(session.id, {parts: [{text: 'hello there', type: 'text'}], role: 'user', type: 'message'})
        await store.append(session.id, {parts: [{text: 'general kenobi', type: 'text'}], role: 'assistant', type: 'message'})
      }
    }
  })

  test('--json is an array of sessions, newest activity first, with the documented fields', () => {
    const result = runJson<Session[]>(home, ['list'])
    expect(result.code).toBe(0)
    expect(result.json.map((s) => s.name)).toEqual(['delta', 'gamma', 'beta', 'alpha'])
    for (const session of result.json) {
      const [kind, status, tags, time] = SEED[session.name as keyof typeof SEED]
      expect(session).toMatchObject({bytes: expect.any(Number), id: ids[session.name], kind, lastActivityAt: time, recordCount: expect.any(Number), status})
      expect([...session.tags].sort()).toEqual([...tags].sort())
    }
    expect(result.json[0]).toMatchObject({recordCount: 2})
    expect(result.json[0]!.bytes).toBeGreaterThan(0)
  })

  test('the table shows one row per session, newest first', () => {
    const result = run(home, ['list'])
    expect(result.code).toBe(0)
    const rows = result.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/NAME\s+KIND\s+STATUS\s+LAST ACTIVITY\s+RECORDS\s+SIZE\s+TAGS/)
    expect(rows.slice(1).map((row) => row.trim().split(/\s+/)[0])).toEqual(['delta', 'gamma', 'beta', 'alpha']) // after the blank mark column: none is current
    expect(rows[1]).toMatch(/delta\s+chat\s+waiting_for_input\s+202[23]-\d\d-\d\d \d\d:\d\d\s+2\s/)
  })

  test('--status (repeatable)', () => {
    expect(names(['--status', 'active'])).toEqual(['alpha'])
    expect(names(['--status', 'paused', '--status', 'completed'])).toEqual(['gamma', 'beta'])
    expect(names(['--status', 'terminated'])).toEqual([])
  })

  test('--kind (repeatable)', () => {
    expect(names(['--kind', 'chat'])).toEqual(['delta', 'alpha'])
    expect(names(['--kind', 'agent', '--kind', 'terminal'])).toEqual(['gamma', 'beta'])
  })

  test('--tag: every tag given must match', () => {
    expect(names(['--tag', 'work'])).toEqual(['beta', 'alpha'])
    expect(names(['--tag', 'work', '--tag', 'urgent'])).toEqual(['beta'])
    expect(names(['--tag', 'nothing'])).toEqual([])
  })

  test('--name GLOB, with * and ?, combined with --limit', () => {
    expect(names(['--name', 'a*'])).toEqual(['alpha'])
    expect(names(['--name', '?eta'])).toEqual(['beta'])
    expect(names(['--name', '*ta'])).toEqual(['delta', 'beta'])
    expect(names(['--name', '*ta', '--limit', '1'])).toEqual(['delta'])
    expect(names(['--name', 'ALPHA'])).toEqual([]) // case-sensitive
  })

  test('--since and --until take dates and durations', () => {
    expect(names(['--since', '2021-06-01'])).toEqual(['delta', 'gamma'])
    expect(names(['--until', '2021-06-01'])).toEqual(['beta', 'alpha'])
    expect(names(['--since', '2020-06-01', '--until', '2022-06-01'])).toEqual(['gamma', 'beta'])
    const days = Math.floor((Date.now() - at('2021-06-01T00:00:00Z')) / DAY)
    expect(names(['--since', `${days}d`])).toEqual(['delta', 'gamma'])
  })

  test.each([['--since', 'last tuesday-ish'], ['--until', 'not-a-date'], ['--since', '']])('%s %j is a usage error (exit 2) naming the flag', (flag, value) => {
    const result = run(home, ['list', flag, value])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(flag)
    expect(result.stdout).toBe('')
    noStackTrace(result)
  })

  test('--limit', () => {
    expect(names(['--limit', '2'])).toEqual(['delta', 'gamma'])
    expect(names(['--limit', '0'])).toHaveLength(4)
    expect(run(home, ['list', '--limit', '-1']).code).toBe(2)
  })

  test('sess show: human and --json', () => {
    const human = run(home, ['show', 'delta'])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^delta$/m)
    expect(human.stdout).toContain(ids.delta!)
    expect(human.stdout).toMatch(/status\s+waiting_for_input/)
    expect(human.stdout).toMatch(/tags\s+home/)
    expect(human.stdout).toMatch(/Last 2 records/)
    expect(human.stdout).toMatch(/user: hello there/)
    expect(human.stdout).toMatch(/assistant: general kenobi/)
    const byId = runJson<ShowResult>(home, ['show', ids.delta!])
    expect(byId.code).toBe(0)
    expect(byId.json.session).toMatchObject({id: ids.delta, kind: 'chat', name: 'delta', recordCount: 2, status: 'waiting_for_input', tags: ['home']})
    expect(byId.json.versions).toEqual([])
    expect(byId.json.records.map((r) => [r.seq, r.record.type])).toEqual([
      [1, 'message'],
      [2, 'message'],
    ])
    const last = runJson<ShowResult>(home, ['show', 'delta', '--records', '1'])
    expect(last.json.records.map((r) => r.seq)).toEqual([2])
  })
})

describe('rm, the trash, purge and fork', () => {
  const dir = useTempDir('sess-rm-')
  const home = join(dir.path, 'home')
  const FILES = {
    one: join(CORPUS, 'codex', 'agent-history-session-01.jsonl'),
    three: join(CORPUS, 'gemini-cli', 'agent-history-golden.json'),
    two: join(CORPUS, 'claude-code', 'agent-history-compaction.jsonl'),
  }
  const ids: Record<string, string> = {}

  const live = () => runJson<Session[]>(home, ['list', '--limit', '0']).json.map((s) => s.name).sort()
  const trash = () => runJson<Session[]>(home, ['list', '--trash', '--limit', '0']).json.map((s) => s.name).sort()

  beforeAll(() => {
    for (const [name, path] of Object.entries(FILES)) {
      const saved = runJson<SaveReport>(home, ['save', path, '--name', name, '--tag', 'imported'])
      expect(saved.code, saved.stderr).toBe(0)
      ids[name] = saved.json.saved[0]!.sessionId
    }
  })

  test('rm moves a session to the trash: gone from list, in list --trash, back with restore --from-trash', () => {
    const removed = run(home, ['rm', 'one'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(removed.stdout).toContain('sess restore --from-trash one')
    expect(live()).toEqual(['three', 'two'])
    expect(trash()).toEqual(['one'])
    expect(runJson<Session[]>(home, ['list', '--trash']).json[0]!.trashedAt).toEqual(expect.any(Number))
    expect(run(home, ['show', 'one']).code).toBe(4)
    expect(runJson<ShowResult>(home, ['show', 'one', '--trash']).json.session.trashedAt).toEqual(expect.any(Number))
    // Its content stays until gc or purge.
    expect(existsSync(join(home, 'blobs', ids.one!))).toBe(true)

    const back = runJson<RestoreReport>(home, ['restore', 'one', '--from-trash'])
    expect(back.code, back.stderr).toBe(0)
    expect(back.json).toMatchObject({action: 'untrashed', id: ids.one, name: 'one'})
    expect(live()).toEqual(['one', 'three', 'two'])
    expect(trash()).toEqual([])
    const restored = run(home, ['restore', 'one'])
    expect(Buffer.from(restored.bytes).equals(readFileSync(FILES.one))).toBe(true)
  })

  test('rm --json reports what it removed, and treats no flag as a session name', () => {
    const saved = runJson<SaveReport>(home, ['save', join(CORPUS, 'claude-code', 'agent-history-forked.jsonl'), '--name', 'four'])
    const removed = runJson<RemovedSession[]>(home, ['rm', 'four'])
    const trashed = trash()
    run(home, ['rm', 'four', '--purge']) // clean up before asserting, so later tests start from the same state
    expect(trashed).toEqual(['four'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(removed.json).toEqual([{id: saved.json.saved[0]!.sessionId, name: 'four', purged: false}])
  })

  test('rm --purge of several sessions deletes them at once: show exits 4, content and rows are gone', () => {
    const removed = run(home, ['rm', 'two', 'three', '--purge'])
    expect.soft(removed.code, removed.stderr).toBe(0)
    expect(removed.stdout).toContain(`Deleted two (${ids.two})`)
    expect(removed.stdout).toContain(`Deleted three (${ids.three})`)
    expect(run(home, ['show', 'two', '--trash']).code).toBe(4)
    expect(run(home, ['restore', 'three', '--from-trash']).code).toBe(4)
    expect(live()).toEqual(['one'])
    expect(trash()).toEqual([])
    expect(existsSync(join(home, 'blobs', ids.two!))).toBe(false)
    expect(existsSync(join(home, 'blobs', ids.three!))).toBe(false)
    const db = new Database(join(home, 'sess.db'), {readonly: true})
    try {
      for (const table of ['records', 'versions', 'session_tags', 'output_events']) {
        const row = db.query(`select count(*) as n from ${table} where session_id in (?, ?)`).get(ids.two!, ids.three!) as {n: number}
        expect(row.n, table).toBe(0)
      }
    } finally {
      db.close()
    }
  })

  test('rm --purge also empties a session already in the trash; --purge may come first', () => {
    expect(run(home, ['save', FILES.two, '--name', 'two-again']).code).toBe(0)
    expect(run(home, ['rm', 'two-again']).code).toBe(0)
    expect(trash()).toEqual(['two-again'])
    const purged = run(home, ['rm', '--purge', 'two-again'])
    expect.soft(purged.code, purged.stderr).toBe(0)
    expect(trash()).toEqual([])
    expect(run(home, ['show', 'two-again', '--trash']).code).toBe(4)
  })

  test('restore --fork NEW creates a session whose parent is the source and whose restore gives the same bytes', () => {
    const forked = runJson<RestoreReport>(home, ['restore', 'one', '--fork', 'one-fork'])
    expect(forked.code, forked.stderr).toBe(0)
    expect(forked.json).toMatchObject({action: 'forked', fork: {id: expect.any(String), name: 'one-fork'}, id: ids.one, name: 'one'})
    const fork = runJson<ShowResult>(home, ['show', 'one-fork', '--records', '1000'])
    const source = runJson<ShowResult>(home, ['show', 'one', '--records', '1000'])
    expect(fork.json.session).toMatchObject({
      format: source.json.session.format,
      id: forked.json.fork!.id,
      kind: source.json.session.kind,
      parentId: ids.one,
      recordCount: source.json.session.recordCount,
      status: 'active',
      tags: ['imported'],
    })
    expect(fork.json.session.id).not.toBe(ids.one)
    expect(fork.json.records.map((r) => r.record)).toEqual(source.json.records.map((r) => r.record))
    expect(fork.json.versions).toHaveLength(1)
    const restored = run(home, ['restore', 'one-fork'])
    expect(restored.code, restored.stderr).toBe(0)
    expect(Buffer.from(restored.bytes).equals(readFileSync(FILES.one))).toBe(true)
    // The fork is independent: purging it leaves the source whole.
    run(home, ['rm', 'one-fork', '--purge'])
    expect(run(home, ['show', 'one-fork']).code).toBe(4)
    expect(Buffer.from(run(home, ['restore', 'one']).bytes).equals(readFileSync(FILES.one))).toBe(true)
  })
})

describe.each(DIALECTS)('sess migrate on %s', (dialect) => {
  let target: StoreTarget
  const cli = (args: string[]) => sess(target.home, args, {env: target.env})
  const cliJson = <T>(args: string[]) => runJson<T>(target.home, args, {env: target.env})

  beforeEach(async () => {
    target = await storeTarget(dialect, 'sess-migrate-')
  })

  afterEach(() => target.remove())

  test('--status --json lists the migrations a used store has applied', () => {
    expect(cli(['list']).code).toBe(0) // every command migrates on first use
    const status = cliJson<MigrateResult>(['migrate', '--status'])
    expect(status.code, status.stderr).toBe(0)
    expect(status.json.applied).toEqual([])
    expect(status.json.migrations.length).toBeGreaterThanOrEqual(1)
    expect(status.json.migrations.some((m) => /initial/.test(m.name))).toBe(true)
    for (const m of status.json.migrations) expect(Number.isNaN(Date.parse(m.appliedAt ?? 'no'))).toBe(false)
    const again = cliJson<MigrateResult>(['migrate'])
    expect(again.json.applied).toEqual([])
  })

  test('on a new store --status shows them pending, and migrate applies them', () => {
    const pending = cliJson<MigrateResult>(['migrate', '--status'])
    expect(pending.code, pending.stderr).toBe(0)
    expect(pending.json.migrations.length).toBeGreaterThanOrEqual(1)
    expect(pending.json.migrations.every((m) => m.appliedAt === null)).toBe(true)
    const applied = cliJson<MigrateResult>(['migrate'])
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.json.applied).toEqual(pending.json.migrations.map((m) => m.name))
    expect(applied.json.migrations.every((m) => m.appliedAt !== null)).toBe(true)
    const human = cli(['migrate', '--status'])
    expect(human.stdout).toMatch(/^applied\s+\S*initial/m)
  })
})

describe('help, colour and usage errors', () => {
  const dir = useTempDir('sess-help-')
  const home = join(dir.path, 'home')

  beforeAll(() => {
    expect(run(home, ['save', join(CORPUS, 'codex', 'agent-history-session-01.jsonl'), '--name', 'colourful']).code).toBe(0)
  })

  test('sess --help exits 0 and lists the commands', () => {
    const result = run(home, ['--help'])
    expect(result.code).toBe(0)
    for (const command of ['save', 'restore', 'list', 'show', 'rm', 'migrate', 'plugins']) expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\s+\\S`, 'm'))
    noStackTrace(result)
  })

  test.each(['save', 'restore', 'list', 'show', 'rm', 'migrate'])('sess %s --help exits 0 and shows examples', (command) => {
    const result = run(home, [command, '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^EXAMPLES$/m)
    expect(result.stdout).toMatch(new RegExp(`^\\s+\\$ sess ${command}\\b`, 'm'))
    expect(result.stdout).toContain('--json')
    expect(result.stdout).toContain('--home')
  })

  test('NO_COLOR: no escape sequences in any output, even with FORCE_COLOR set', () => {
    for (const args of [['list'], ['show', 'colourful'], ['--help'], ['save', '--help'], ['save', join(CORPUS, 'codex')]]) {
      const result = runWithEnv(home, args, {FORCE_COLOR: '3', NO_COLOR: '1'})
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
      expect(result.stdout.includes(ESC), `stdout of sess ${args.join(' ')}`).toBe(false)
    }
    // The control: without NO_COLOR the same output is coloured, so the check above can fail.
    expect(runWithEnv(home, ['list'], {FORCE_COLOR: '3'}).stdout).toContain(ESC)
  })

  test('NO_COLOR: errors and warnings on stderr carry no escape sequences', () => {
    for (const args of [['show', 'nope'], ['list', '--bogus'], ['save', join(dir.path, 'missing.jsonl')]]) {
      const result = runWithEnv(home, args, {NO_COLOR: '1'})
      expect(result.code).not.toBe(0)
      expect(result.stderr).toMatch(/^Error: /m)
      expect(result.stderr.includes(ESC), `stderr of sess ${args.join(' ')}`).toBe(false)
    }
  })

  test('an unknown flag exits 2 with a clear message and no stack trace', () => {
    const result = run(home, ['list', '--bogus'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^Error: .*--bogus/m)
    noStackTrace(result)
    const json = runJson<{error: {code: string; exitCode: number; message: string}}>(home, ['list', '--bogus'])
    expect(json.code).toBe(2)
    expect(json.json.error).toMatchObject({code: 'E_INVALID_INPUT', exitCode: 2, message: expect.stringContaining('--bogus')})
  })

  test('an unknown command and a bad flag value exit 2 without a stack trace', () => {
    for (const args of [['frobnicate'], ['list', '--status', 'sleeping'], ['restore', 'colourful', '--asciicast-version', '9']]) {
      const result = run(home, args)
      expect(result.code, args.join(' ')).toBe(2)
      noStackTrace(result)
    }
  })

  test('usage errors say what is wrong, not only the first line of it', () => {
    const missing = run(home, ['save'])
    expect(missing.code).toBe(2)
    noStackTrace(missing)
    expect(missing.stderr, 'the missing argument is named').toMatch(/source/i)
    const notANumber = run(home, ['list', '--limit', 'abc'])
    expect(notANumber.code).toBe(2)
    noStackTrace(notANumber)
    expect(notANumber.stderr, 'the bad value is shown').toMatch(/abc|integer/)
  })
})

describe.each(DIALECTS)('concurrent saves on %s', (dialect) => {
  const dir = useTempDir('sess-concurrent-')

  test('files with the same name saved at the same time all get a session (names are made unique, not refused)', async () => {
    const target = await storeTarget(dialect, 'sess-concurrent-')
    onTestFinished(() => target.remove())
    const home = target.home
    expect(run(home, ['migrate'], target.env).code).toBe(0)
    const source = readFileSync(join(CORPUS, 'codex', 'agent-history-session-01.jsonl'), 'utf8')
    const paths = Array.from({length: 6}, (_, i) => {
      mkdirSync(join(dir.path, `d${i}`))
      const path = join(dir.path, `d${i}`, 'rollout.jsonl')
      writeFileSync(path, source + '\n'.repeat(i)) // different bytes, same session, same file name
      return path
    })
    const results = await Promise.all(
      paths.map(async (path) => {
        const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'save', path], {
          cwd: REPO,
          env: {...process.env, ...target.env, NO_COLOR: '1'},
          stderr: 'pipe',
          stdout: 'ignore',
        })
        const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited])
        return {code, stderr}
      }),
    )
    for (const result of results) expect(result.code, result.stderr).toBe(0)
    const listed = runJson<Session[]>(home, ['list', '--limit', '0'], {env: target.env}).json
    expect(listed).toHaveLength(6)
    expect(new Set(listed.map((s) => s.name)).size).toBe(6)
    for (const session of listed) expect(await storedBlobs(target, session.id)).toHaveLength(1)
  })
})
