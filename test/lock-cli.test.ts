/**
 * `sess lock` through the real CLI (DESIGN §3, §7), on each database engine: acquire / renew /
 * release / status with their exit codes, `lock run` like flock(1) (exit status, signals,
 * SESS_LOCK_TOKEN for the command), and leases that belong to the calling shell across separate
 * processes.
 */
import type {Subprocess} from 'bun'
import {existsSync, readFileSync, realpathSync, writeFileSync} from 'node:fs'
import {basename, delimiter, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import type {AcquireReport} from '../plugins/locking/src/commands/lock/acquire.ts'
import type {RenewReport} from '../plugins/locking/src/commands/lock/renew.ts'
import {LockError, openStore} from '../src/index.ts'
import {hostId} from '../src/os/host.ts'
import type {LockState} from '../src/session/types.ts'
import {type CliResult, REPO, sess, sessJson, useTempDir} from './helpers/cli.ts'
import {DIALECTS, type StoreTarget, storeTarget} from './helpers/dialects.ts'
import type {DialectName} from '../src/db/dialect.ts'
import {sleep} from '../src/os/sleep.ts'

const TOKEN = /^[0-9A-HJKMNP-TV-Z]{26}\.[1-9][0-9]*\.[0-9a-f]{32}$/
const RUN = join(REPO, 'bin', 'run.ts')

/** The environment {@link sess} gives the CLI, for processes started otherwise: on `target`'s store. */
function cliEnv(target: StoreTarget, extra: Record<string, string> = {}): Record<string, string> {
  return {...(process.env as Record<string, string>), NODE_ENV: 'production', NO_COLOR: '1', XDG_DATA_HOME: join(target.home, '..', 'xdg-data'), ...target.env, ...extra}
}

/** Starts the CLI on `target`'s store without waiting for it. */
function spawnSess(target: StoreTarget, args: string[], extra: Record<string, string> = {}): Subprocess<'ignore', 'pipe', 'pipe'> {
  return Bun.spawn([process.execPath, RUN, ...args], {cwd: REPO, env: cliEnv(target, extra), stdio: ['ignore', 'pipe', 'pipe']})
}

/** Runs the CLI on `target`'s store. */
function run(target: StoreTarget, args: string[]): CliResult {
  return sess(target.home, args, {env: target.env})
}

/** Runs the CLI on `target`'s store with `--json`. */
function runJson<T = unknown>(target: StoreTarget, args: string[]): ReturnType<typeof sessJson<T>> {
  return sessJson<T>(target.home, args, {env: target.env})
}

/** The one lock `sess lock status NAME --json` lists. */
function status(target: StoreTarget, name: string): LockState {
  const result = runJson<LockState[]>(target, ['lock', 'status', name])
  expect(result.code, result.stderr).toBe(0)
  expect(result.json).toHaveLength(1)
  return result.json[0]!
}

/** Waits until `path` exists (at most 20 s). */
async function waitForFile(path: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear`)
    await sleep(20)
  }
}

/** Whether process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const dir = useTempDir('sess-lock-cli-')

/** A scratch file of the tests on `target` (marks, transcripts), apart from those of the other engine's. */
function file(target: StoreTarget, name: string): string {
  return join(dir.path, `${target.dialect}-${name}`)
}

/** A new store with a one-line raw session for each of `names` imported (so that `sess save --session NAME` can add versions). */
async function seeded(dialect: DialectName, ...names: string[]): Promise<StoreTarget> {
  const target = await storeTarget(dialect, 'sess-lock-cli-')
  await using store = await openStore(target.options)
  for (const name of names) await store.save({bytes: new TextEncoder().encode(`{"session":"${name}"}\n`), name, path: `${name}.jsonl`})
  return target
}

describe.each(DIALECTS)('on %s', (dialect) => {
  let target: StoreTarget
  /** Another store, whose tokens this one refuses. */
  let other: StoreTarget

  beforeAll(async () => {
    target = await seeded(dialect, 'doc', 'fresh', 'runs', 'shared', 'killed', 'scripted')
    other = await seeded(dialect, 'doc')
  })

  afterAll(async () => {
    await target.remove()
    await other.remove()
  })

  describe('sess lock acquire | renew | release | status', () => {
    test('acquire prints a token; a second acquire fails with exit 3 naming the holder; renew and release', () => {
      const acquired = run(target, ['lock', 'acquire', 'doc'])
      expect(acquired.code, acquired.stderr).toBe(0)
      const token = acquired.stdout.trim()
      expect(token).toMatch(TOKEN)
      expect(token.split('.')[1]).toBe('1')

      const second = run(target, ['lock', 'acquire', 'doc'])
      expect(second.code).toBe(3)
      // The lease belongs to the caller of sess: this test process.
      expect(second.stderr).toMatch(new RegExp(`^Error: Could not lock session doc: it is locked by pid ${process.pid} on host `, 'm'))
      expect(second.stderr).toMatch(/^Hint: /m)

      const listed = runJson<LockState[]>(target, ['lock', 'status'])
      expect(listed.code, listed.stderr).toBe(0)
      const held = listed.json[0]!
      expect(listed.json).toEqual([
        {
          acquiredAt: expect.any(Number),
          expiresAt: held.acquiredAt + 300_000,
          held: true,
          holder: {bootId: expect.any(String), host: hostId(), pid: process.pid, startTime: expect.stringMatching(/^\d+$/)},
          name: 'doc',
          releasedAt: null,
          renewedAt: held.acquiredAt,
          sessionId: token.split('.')[0],
          stale: null,
          token: 1,
          ttl: 300_000,
        },
      ])

      const renewed = runJson<RenewReport>(target, ['lock', 'renew', token, '--ttl', '10m'])
      expect(renewed.code, renewed.stderr).toBe(0)
      expect(renewed.json).toEqual({expiresAt: expect.any(Number), fencingToken: 1, sessionId: held.sessionId})
      expect(renewed.json.expiresAt).toBeGreaterThanOrEqual(held.acquiredAt + 600_000)

      const released = run(target, ['lock', 'release', token])
      expect(released.code, released.stderr).toBe(0)
      expect(released.stdout.trim()).toBe('Released the lock (fencing token 1).')
      expect(status(target, 'doc')).toMatchObject({held: false, releasedAt: expect.any(Number), stale: null, token: 1})

      const again = run(target, ['lock', 'release', token])
      expect(again.code).toBe(3)
      expect(again.stderr).toMatch(/^Error: .*no longer holds its lock: it was released/m)
      expect(run(target, ['lock', 'renew', token]).code).toBe(3)

      const next = runJson<AcquireReport>(target, ['lock', 'acquire', 'doc', '--ttl', '1m'])
      expect(next.code, next.stderr).toBe(0)
      expect(next.json).toEqual({
        expiresAt: expect.any(Number),
        fencingToken: 2,
        holder: expect.objectContaining({pid: process.pid}),
        name: 'doc',
        sessionId: held.sessionId,
        token: expect.stringMatching(TOKEN),
      })
      expect(run(target, ['lock', 'renew', token]).stderr).toMatch(/granted again since \(now fencing token 2\)/) // superseded
      expect(run(target, ['lock', 'release', next.json.token]).code).toBe(0)
    })

    test('status of a session never locked, and of an unknown one', () => {
      const human = run(target, ['lock', 'status', 'fresh'])
      expect(human.code).toBe(0)
      expect(human.stdout.trim()).toBe('Session fresh has never been locked.')
      expect(runJson(target, ['lock', 'status', 'fresh']).json).toEqual([])
      const unknown = run(target, ['lock', 'status', 'nope'])
      expect(unknown.code).toBe(4)
      expect(unknown.stderr).toMatch(/^Error: No session "nope"/m)
    })

    test('bad tokens exit 2, tokens of another store exit 2, unknown sessions exit 4', () => {
      for (const command of ['release', 'renew']) {
        const bad = run(target, ['lock', command, 'not-a-token'])
        expect([command, bad.code]).toEqual([command, 2])
        expect(bad.stderr).toMatch(/is not a sess lease token/)
      }
      const foreign = run(other, ['lock', 'acquire', 'doc'])
      expect(foreign.code, foreign.stderr).toBe(0)
      const result = run(target, ['lock', 'release', foreign.stdout.trim()])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/was not granted by this store/)
      expect(run(target, ['lock', 'acquire', 'nope']).code).toBe(4)
      expect(run(target, ['lock', 'acquire', 'fresh', '--ttl', '5ms']).code).toBe(2)
    })
  })

  describe('sess lock run', () => {
    test("exits with the command's status; 128 + n when it is killed by signal n; 2 without a command; 127 when not found", () => {
      const seven = run(target, ['lock', 'run', 'runs', '--', 'sh', '-c', 'exit 7'])
      expect(seven.code, seven.stderr).toBe(7)
      const killed = run(target, ['lock', 'run', 'runs', '--', 'sh', '-c', 'kill -TERM $$'])
      expect(killed.code, killed.stderr).toBe(143)
      const none = run(target, ['lock', 'run', 'runs'])
      expect(none.code).toBe(2)
      expect(none.stderr).toMatch(/^Error: No command to run\./m)
      const missing = run(target, ['lock', 'run', 'runs', '--', '/nonexistent/cmd'])
      expect(missing.code).toBe(127)
      expect(missing.stderr).toMatch(/Command not found: \/nonexistent\/cmd\./)
      const ok = run(target, ['lock', 'run', 'runs', '--', 'sh', '-c', 'echo "token=$SESS_LOCK_TOKEN"'])
      expect(ok.code, ok.stderr).toBe(0)
      expect(ok.stdout.trim()).toMatch(/^token=[0-9A-Z]{26}.4\.[0-9a-f]{32}$/)
      // Every run took the lock (fencing tokens 1 to 4; none without a command) and released it.
      expect(status(target, 'runs')).toMatchObject({held: false, token: 4})
    })

    test('the command writes under the lock (SESS_LOCK_TOKEN) while writers outside wait for it', async () => {
      const mark = file(target, 'shared-mark')
      const go = file(target, 'shared-go')
      const files = ['v2', 'v3', 'v4'].map((version) => {
        const path = file(target, `shared-${version}.jsonl`)
        writeFileSync(path, `{"session":"shared","version":"${version}"}\n`)
        return path
      })
      const script = '"$BUN" "$RUN" save --session shared "$V2" && touch "$MARK" && while [ ! -e "$GO" ]; do sleep 0.05; done'
      const runner = spawnSess(target, ['lock', 'run', 'shared', '--', 'sh', '-c', script], {BUN: process.execPath, GO: go, MARK: mark, RUN, V2: files[0]!})
      try {
        await waitForFile(mark)
        expect(status(target, 'shared')).toMatchObject({held: true, holder: {pid: runner.pid}, token: 1})
        // A library writer with a short wait fails, naming the holder, and writes nothing.
        {
          await using store = await openStore({...target.options, lockWait: 200})
          const error = await store.save({bytes: readFileSync(files[2]!), into: 'shared', path: files[2]}).then(
            () => undefined,
            (error: unknown) => error,
          )
          expect(error).toBeInstanceOf(LockError)
          expect((error as Error).message).toContain(`locked by pid ${runner.pid}`)
        }
        // A CLI writer outside waits (up to 10 s) instead of failing.
        const outside = spawnSess(target, ['save', '--session', 'shared', files[1]!])
        await sleep(1_000)
        expect(outside.exitCode).toBeNull()
        writeFileSync(go, '')
        expect(await runner.exited).toBe(0)
        expect(await outside.exited, await new Response(outside.stderr).text()).toBe(0)
      } finally {
        writeFileSync(go, '')
        runner.kill('SIGKILL')
      }
      await using store = await openStore(target.options)
      const versions = await store.versions('shared')
      expect(versions.map((version) => version.version)).toEqual([1, 2, 3])
      expect(new TextDecoder().decode((await store.restore('shared', {version: 2})).bytes)).toContain('"v2"')
      expect(new TextDecoder().decode((await store.restore('shared', {version: 3})).bytes)).toContain('"v3"')
      expect(status(target, 'shared')).toMatchObject({held: false, token: 1})
    })

    test('SIGTERM to sess is passed on to the command; sess exits 143 and releases the lock', async () => {
      const mark = file(target, 'killed-mark')
      const runner = spawnSess(target, ['lock', 'run', 'killed', '--', 'sh', '-c', 'echo $$ > "$MARK.tmp" && mv "$MARK.tmp" "$MARK" && exec sleep 30'], {MARK: mark})
      let child = 0
      try {
        await waitForFile(mark)
        child = Number(readFileSync(mark, 'utf8').trim())
        expect(alive(child)).toBe(true)
        expect(status(target, 'killed')).toMatchObject({held: true, holder: {pid: runner.pid}})
        runner.kill('SIGTERM')
        expect(await runner.exited).toBe(143)
        expect(runner.signalCode).toBeNull() // sess exited with the status, it was not killed outright
      } finally {
        runner.kill('SIGKILL')
      }
      const deadline = Date.now() + 5_000
      while (alive(child) && Date.now() < deadline) await sleep(20)
      expect(alive(child)).toBe(false)
      expect(status(target, 'killed')).toMatchObject({held: false, token: 1})
    })
  })

  describe('leases of the calling shell', () => {
    test('a script acquires, is refused a second time, releases, acquires again; when it exits its lease is provably dead', () => {
      const err = file(target, 'scripted-err')
      const script = [
        'tok=$("$BUN" "$RUN" lock acquire scripted --ttl 5m) || exit 10',
        '"$BUN" "$RUN" lock acquire scripted 2>"$ERR"; [ $? -eq 3 ] || exit 11',
        '"$BUN" "$RUN" lock release "$tok" >/dev/null || exit 12',
        'tok=$("$BUN" "$RUN" lock acquire scripted --ttl 5m) || exit 13',
        'echo "$$ $tok"',
      ].join('\n')
      const result = Bun.spawnSync(['sh', '-c', script], {cwd: REPO, env: cliEnv(target, {BUN: process.execPath, ERR: err, RUN}), stdin: 'ignore'})
      expect(result.exitCode, result.stdout.toString() + result.stderr.toString()).toBe(0)
      const [shell, token] = result.stdout.toString().trim().split(' ') as [string, string]
      expect(token).toMatch(TOKEN)
      expect(token.split('.')[1]).toBe('2')
      expect(readFileSync(err, 'utf8')).toMatch(new RegExp(`locked by pid ${shell} on host `))

      // The shell is gone: its 5-minute lease is stale at once, and the next acquire takes it over without waiting.
      const stale = status(target, 'scripted')
      expect(stale).toMatchObject({held: true, holder: {pid: Number(shell)}, stale: `its holder (pid ${shell}) is gone`, token: 2, ttl: 300_000})
      expect(stale.expiresAt).toBeGreaterThan(Date.now() + 60_000)
      const taken = runJson<AcquireReport>(target, ['lock', 'acquire', 'scripted'])
      expect(taken.code, taken.stderr).toBe(0)
      expect(taken.json).toMatchObject({fencingToken: 3, holder: {pid: process.pid}})
      expect(run(target, ['lock', 'release', taken.json.token]).code).toBe(0)
    })
  })
})

// About the processes around sess (the terminal's ^C, npm's chain of processes), not the store: on SQLite only.
describe('sess lock and the processes around it', () => {
  let target: StoreTarget

  beforeAll(async () => {
    target = await seeded('sqlite', 'interrupted', 'npm-run')
  })

  afterAll(() => target.remove())

  test('^C at the terminal reaches the command once; sess outlives it, exits with its status and releases the lock', async () => {
    const mark = file(target, 'interrupted-mark')
    // Counts the ^Cs it gets for half a second after the first, then exits 5.
    const script = 'n=0; trap \'n=$((n+1)); echo interrupted\' INT; echo ready > "$MARK.tmp" && mv "$MARK.tmp" "$MARK"; while [ $n -eq 0 ]; do sleep 0.05; done; sleep 0.5; exit 5'
    // A process group of its own, as a terminal's foreground job has; ^C goes to the whole group.
    const runner = Bun.spawn([process.execPath, RUN, 'lock', 'run', 'interrupted', '--', 'sh', '-c', script], {cwd: REPO, detached: true, env: cliEnv(target, {MARK: mark}), stdio: ['ignore', 'pipe', 'pipe']})
    try {
      await waitForFile(mark)
      process.kill(-runner.pid, 'SIGINT')
      expect(await runner.exited).toBe(5)
      expect((await new Response(runner.stdout).text()).trim()).toBe('interrupted')
    } finally {
      runner.kill('SIGKILL')
    }
    expect(status(target, 'interrupted')).toMatchObject({held: false, token: 1})
  })

  test('a lease taken through `npm run sess -- lock acquire` belongs to the calling shell, not to npm\'s transient `sh -c`', () => {
    // Node.js itself (not the `node` of `bun --bun`): npm's process title rewrites its /proc cmdline only under Node.js.
    const node = (process.env.PATH ?? '')
      .split(delimiter)
      .map((entry) => join(entry, 'node'))
      .find((candidate) => existsSync(candidate) && !basename(realpathSync(candidate)).startsWith('bun'))
    if (node === undefined) throw new Error('Node.js is not on the PATH (sess needs Node.js 20+ and npm; see README)')
    const script = [
      'tok=$("$NODE" "$NPM" run --silent sess -- lock acquire npm-run --ttl 5m) || exit 10',
      '"$BUN" "$RUN" lock acquire npm-run >/dev/null 2>&1; echo "second=$?"',
      'echo "$$ $tok"',
    ].join('\n')
    const env = cliEnv(target, {BUN: process.execPath, NODE: node, NPM: realpathSync(Bun.which('npm') ?? 'npm'), RUN, npm_config_update_notifier: 'false'})
    const result = Bun.spawnSync(['sh', '-c', script], {cwd: REPO, env, stdin: 'ignore'})
    expect(result.exitCode, result.stdout.toString() + result.stderr.toString()).toBe(0)
    const [second, last] = result.stdout.toString().trim().split('\n') as [string, string]
    const [shell, token] = last.split(' ') as [string, string]
    expect(token).toMatch(TOKEN)
    expect(second).toBe('second=3')
    expect(status(target, 'npm-run')).toMatchObject({held: true, holder: {pid: Number(shell)}, token: 1})
  })
})
