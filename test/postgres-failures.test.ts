/**
 * A store shared on PostgreSQL when the database cannot be used (DESIGN §7: failures degrade with
 * a clear message): a malformed URL (exit 2), wrong credentials, a database that does not exist,
 * a server that does not listen (exit 1, the problem and the fix named, never a stack trace or
 * the password), and the server going away in the middle of `sess save DIR`, stopped or killed
 * with SIGKILL (every server process at once). After the server is back the store is consistent:
 * every session it lists restores byte for byte, no row names content that is not there, `sess
 * doctor` finds at most litter (the blob of the save cut off), `doctor --fix` leaves it clean,
 * and the same save run again completes.
 *
 * These tests run a PostgreSQL server of their own (`tasks/postgres.ts`), so that stopping and
 * killing it leaves the suites' shared server alone. It runs with `fsync=off`: a kill of the
 * server's processes (not of the machine) loses nothing the server wrote to the kernel, so the
 * durability at stake here does not depend on fsync, and the saves go faster.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import pg from 'pg'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import type {DoctorReport} from '../plugins/cleanup/src/doctor.ts'
import {DATABASE_URL_ENV} from '../src/db/settings.ts'
import {openStore} from '../src/index.ts'
import {sleep} from '../src/os/sleep.ts'
import {type PostgresServer, restartPostgres, startPostgres, stopPostgres} from '../tasks/postgres.ts'
import {CORPUS, REPO, sess, sessJson, tempDir} from './helpers/cli.ts'

const dir = tempDir('sess-pg-failures-')
/** The server's own directory: not under `dir`, which only its owner may enter (the server runs as `postgres` under root). */
const serverDir = tempDir('sess-pg-failures-server-')
let server: PostgresServer

beforeAll(async () => {
  server = await startPostgres(serverDir.path)
  await query(server.url, 'alter system set fsync = off')
  await query(server.url, 'select pg_reload_conf()')
}, 120_000)

afterAll(async () => {
  await stopPostgres(serverDir.path)
  serverDir.remove()
  dir.remove()
})

async function query(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

let databases = 0

/** A new database on the test's server: its URL. */
async function newDatabase(): Promise<string> {
  const name = `store_${++databases}`
  await query(server.url, `create database ${name}`)
  const url = new URL(server.url)
  url.pathname = `/${name}`
  return url.toString()
}

function noStackTrace(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m)
  expect(stderr).not.toMatch(/node_modules|\.ts:\d+/)
}

/** The password of the test's server, which no message may show. */
function password(): string {
  return decodeURIComponent(new URL(server.url).password)
}

describe('a database that cannot be used', () => {
  const file = join(CORPUS, 'codex', 'agent-history-session-01.jsonl')

  test.each([
    ['a port that is not a number', () => 'postgres://sess:secret-pw@127.0.0.1:port/db', /is not a PostgreSQL URL: it does not parse as a URL/],
    ['a port out of range', () => 'postgres://sess:secret-pw@127.0.0.1:99999/db', /is not a PostgreSQL URL: it does not parse as a URL/],
    ['another scheme', () => 'mysql://sess:secret-pw@127.0.0.1/db', /"mysql:\/\/sess@127\.0\.0\.1\/db" is not a PostgreSQL URL/],
  ])('a malformed URL (%s) exits 2 and names the variable, not the password', (_, url, message) => {
    const home = join(dir.path, 'malformed')
    const result = sess(home, ['save', file], {env: {[DATABASE_URL_ENV]: url()}})
    expect([result.code, result.stdout]).toEqual([2, ''])
    expect(result.stderr).toMatch(new RegExp(`^Error: ${DATABASE_URL_ENV} `, 'm'))
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toMatch(/^Hint: Give postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/m)
    expect(result.stderr).not.toContain('secret-pw')
    noStackTrace(result.stderr)
    const json = sessJson<{error: {code: string; exitCode: number}}>(home, ['list'], {env: {[DATABASE_URL_ENV]: url()}})
    expect([json.code, json.json.error.code, json.json.error.exitCode]).toEqual([2, 'E_INVALID_INPUT', 2])
    expect(existsSync(join(home, 'sess.db'))).toBe(false)
  })

  test.each([
    ['a wrong password', () => server.url.replace(`:${encodeURIComponent(password())}@`, ':not-the-password@'), /^Error: PostgreSQL refused the credentials for postgres:\/\/sess@127\.0\.0\.1:\d+\/postgres: /m, /^Hint: Check the user and password in the URL\./m],
    ['a database that does not exist', () => server.url.replace(/\/postgres$/, '/no_such_store'), /^Error: The database of postgres:\/\/sess@127\.0\.0\.1:\d+\/no_such_store does not exist: /m, /^Hint: Create it first \(createdb, or CREATE DATABASE\)/m],
    ['a server that does not listen', () => server.url.replace(`:${server.port}/`, ':1/'), /^Error: Cannot reach the PostgreSQL server of postgres:\/\/sess@127\.0\.0\.1:1\/postgres: .*ECONNREFUSED/m, /^Hint: Check that the server runs and accepts TCP connections there\./m],
  ])('%s: exit 1, the problem and its fix named, nothing written', async (_, url, message, hint) => {
    const home = join(dir.path, `unusable-${databases++}`)
    const result = sess(home, ['save', file, '--name', 'never'], {env: {[DATABASE_URL_ENV]: url()}})
    expect([result.code, result.stdout]).toEqual([1, ''])
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toMatch(hint)
    expect(result.stderr).not.toContain(password())
    noStackTrace(result.stderr)
    const json = sessJson<{error: {code: string; exitCode: number; message: string}}>(home, ['list'], {env: {[DATABASE_URL_ENV]: url()}})
    expect(json.code).toBe(1)
    expect(json.json.error).toMatchObject({code: 'E_STORAGE', exitCode: 1, message: expect.stringMatching(message.source.replace('^Error: ', '').replace(/^\^/, ''))})
    expect(readdirSync(home)).toEqual([]) // no SQLite database, no lock file, no blob: the store was never opened
  })
})

/** Asciicast v2 recordings to save, distinct per `seed`; every fourth spans several 256 KiB chunks. */
function writeRecordings(directory: string, count: number, seed: number): Map<string, Uint8Array> {
  mkdirSync(directory, {recursive: true})
  const files = new Map<string, Uint8Array>()
  for (let i = 0; i < count; i++) {
    const events = i % 4 === 0 ? 6_000 : 300 + ((i * 53) % 700)
    let text = `${JSON.stringify({height: 24, timestamp: 1_700_000_000 + seed * 1000 + i, version: 2, width: 80})}\n`
    for (let e = 0; e < events; e++) text += `${JSON.stringify([e / 100, 'o', `run ${seed} file ${i} event ${e} ${'~'.repeat((e * 7 + i) % 50)}\r\n`])}\n`
    const name = `rec-${seed}-${String(i).padStart(2, '0')}`
    const bytes = new TextEncoder().encode(text)
    writeFileSync(join(directory, `${name}.cast`), bytes)
    files.set(name, bytes)
  }
  return files
}

/** The postmaster's pid and its children's (backends, writers), from /proc. */
function serverProcesses(postmaster: number): number[] {
  const children = readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      return Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === postmaster
    } catch {
      return false // gone meanwhile
    }
  })
  return [postmaster, ...children.map(Number)]
}

async function waitGone(pids: number[]): Promise<void> {
  for (let waited = 0; pids.some((pid) => existsSync(`/proc/${pid}`)); waited += 20) {
    if (waited > 30_000) throw new Error(`server processes ${pids.join(' ')} outlived SIGKILL`)
    await sleep(20)
  }
}

/** Ways the server goes away while a command uses it. */
const GOING_AWAY = {
  /** Every server process at once: the postmaster and its children, as a crash or an OOM kill would. */
  killed: async () => {
    const pids = serverProcesses(server.pid)
    for (const pid of pids) process.kill(pid, 'SIGKILL')
    await waitGone(pids)
  },
  /** A fast shutdown (`pg_ctl stop -m fast`): sessions are ended by the server, in-flight transactions rolled back. */
  stopped: () => stopPostgres(server.dir),
}

describe.each(Object.keys(GOING_AWAY) as (keyof typeof GOING_AWAY)[])('the server %s in the middle of sess save DIR', (how) => {
  test('fails with a clear error, leaves the store consistent, and the same save then completes', async () => {
    const url = await newDatabase()
    const home = join(dir.path, `away-${how}`)
    const source = join(dir.path, `recordings-${how}`)
    const files = writeRecordings(source, 16, how.length)
    const env = {[DATABASE_URL_ENV]: url}

    // The save, cut off once a few files are in: the next is being written when the server goes.
    const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'save', source], {
      cwd: REPO,
      env: {...process.env, ...env, NO_COLOR: '1', SESS_HOME: home},
      stderr: 'pipe',
      stdin: 'ignore',
      stdout: 'pipe',
    })
    const stderr = new Response(child.stderr).text()
    let stdout = ''
    const reader = child.stdout.getReader()
    while ((stdout.match(/^saved /gm) ?? []).length < 3) {
      const {done, value} = await reader.read()
      if (done) throw new Error(`sess save ended before the server went away:\n${stdout}\n${await stderr}`)
      stdout += new TextDecoder().decode(value)
    }
    await sleep(Math.random() * 40)
    await GOING_AWAY[how]()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) stdout += new TextDecoder().decode(chunk.value)
    expect(await child.exited).toBe(1)
    const error = await stderr
    expect(error).toMatch(/^Error: (Lost the connection to|Cannot reach) the PostgreSQL server of postgres:\/\/sess@127\.0\.0\.1:\d+\/store_\d+: /m)
    expect(error).toMatch(/^Hint: Check that the server runs/m)
    expect(error).not.toContain(password())
    noStackTrace(error)
    const reported = (stdout.match(/^saved +\S+/gm) ?? []).map((line) => line.split(/ +/)[1]!)
    expect(reported.length).toBeGreaterThanOrEqual(3)
    expect(reported.length).toBeLessThan(files.size)

    server = await restartPostgres(server)

    // Every session listed restores byte for byte: all the save reported, and at most the one it was writing.
    {
      await using store = await openStore({databaseUrl: url, home})
      const listed = (await store.list()).map((session) => session.name).sort()
      expect(listed.slice(0, reported.length)).toEqual(reported)
      expect(listed.length - reported.length).toBeLessThanOrEqual(1)
      for (const name of listed) {
        const {bytes, original} = await store.restore(name)
        expect(original).toBe(true)
        expect(Buffer.from(bytes).equals(Buffer.from(files.get(name)!)), name).toBe(true)
      }
    }
    // No row names content that is not there whole; content no row names is at most that one save's blob.
    const named = await query(url, `select v.blob, coalesce(v.stored_bytes, v.bytes) as bytes, coalesce(sum(length(c.data)), -1) as stored
      from versions v left join blob_chunks c on c.session_id = v.session_id and c.blob = v.blob group by v.blob, v.stored_bytes, v.bytes`)
    for (const row of named.rows) expect(Number(row.stored), row.blob).toBe(Number(row.bytes))
    const unnamed = await query(url, 'select distinct blob from blob_chunks c where not exists (select 1 from versions v where v.blob = c.blob)')
    expect(unnamed.rows.length).toBeLessThanOrEqual(1)
    expect(readdirSync(home).filter((entry) => entry === 'blobs' || entry === 'sess.db')).toEqual([])

    // doctor: litter at most, which --fix clears.
    const doctor = sessJson<DoctorReport>(home, ['doctor'], {env})
    for (const finding of doctor.json.findings) expect(['orphan-content', 'temp-file'], finding.message).toContain(finding.kind)
    expect(doctor.code).toBe(doctor.json.findings.length === 0 ? 0 : 1)
    expect(sess(home, ['doctor', '--fix'], {env}).code).toBe(0)
    const clean = sessJson<DoctorReport>(home, ['doctor'], {env})
    expect([clean.code, clean.json.findings]).toEqual([0, []])

    // The same save again completes: every file is in, once.
    const again = sessJson<SaveReport>(home, ['save', source], {env})
    expect(again.code, again.stderr).toBe(0)
    expect(again.json.saved.map((entry) => entry.name).sort()).toEqual([...files.keys()].sort())
    await using store = await openStore({databaseUrl: url, home})
    expect((await store.list()).map((session) => session.name).sort()).toEqual([...files.keys()].sort())
    for (const name of files.keys()) expect(Buffer.from((await store.restore(name)).bytes).equals(Buffer.from(files.get(name)!)), name).toBe(true)
    rmSync(source, {force: true, recursive: true})
  }, 180_000)
})
