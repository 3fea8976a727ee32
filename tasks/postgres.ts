/**
 * A throwaway PostgreSQL server for tests, CI and benchmarks: `initdb` into a directory of its
 * own, started with `pg_ctl`, listening on 127.0.0.1 only (and a Unix socket in that directory),
 * password authentication for a user `sess`. As root it runs as the `postgres` system user
 * (PostgreSQL refuses to run as root).
 *
 *     bun tasks/postgres.ts start DIR   # prints the URL of the server's `postgres` database
 *     bun tasks/postgres.ts stop DIR
 *
 * The server binaries come from Debian's `postgresql` package (`/usr/lib/postgresql/<v>/bin`) or PATH.
 */
import {$} from 'bun'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

/** A running server. */
export interface PostgresServer {
  /** Its directory: `data/`, `log`, the socket and `url`. */
  dir: string
  /** `postgres://sess:…@127.0.0.1:<port>/postgres`. */
  url: string
  port: number
  /** The postmaster's pid. */
  pid: number
}

const USER = 'sess'

/** The directory of `initdb`, `pg_ctl` and `postgres`, or `undefined` when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    for (const version of versions) if (existsSync(join(root, version, 'bin', 'pg_ctl'))) return join(root, version, 'bin')
  }
  const found = Bun.which('pg_ctl')
  return found ? join(found, '..') : undefined
}

/**
 * Creates and starts a server in `dir` (created; must not hold one already).
 *
 * @throws an `Error` naming the fix when PostgreSQL is not installed or the server does not start.
 */
export async function startPostgres(dir: string): Promise<PostgresServer> {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install postgresql (Debian), or set SESS_TEST_POSTGRES_URL to a server of yours.')
  mkdirSync(dir, {recursive: true})
  const password = crypto.randomUUID()
  const port = await freePort()
  writeFileSync(join(dir, 'password'), password, {mode: 0o600})
  if (process.getuid?.() === 0) await $`chown -R postgres: ${dir}`.quiet()
  await asServerUser([join(bin, 'initdb'), '-D', join(dir, 'data'), '-U', USER, '--auth=scram-sha-256', `--pwfile=${join(dir, 'password')}`, '-E', 'UTF8', '--no-sync'])
  const url = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`
  writeFileSync(join(dir, 'url'), url)
  return restartPostgres({dir, pid: 0, port, url})
}

/** Stops the server in `dir` (fast shutdown); nothing when none runs there. */
export async function stopPostgres(dir: string): Promise<void> {
  const bin = postgresBin()
  const data = join(dir, 'data')
  if (!bin || !existsSync(join(data, 'postmaster.pid'))) return
  await asServerUser([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined)
}

/** Starts the server of `server.dir` (again, after it was stopped or killed) on its port; waits until it accepts connections. */
export async function restartPostgres(server: PostgresServer): Promise<PostgresServer> {
  const data = join(server.dir, 'data')
  const options = `-c listen_addresses=127.0.0.1 -p ${server.port} -k ${server.dir} -c max_connections=200`
  await asServerUser([join(postgresBin()!, 'pg_ctl'), '-D', data, '-o', options, '-l', join(server.dir, 'log'), '-w', 'start'])
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  return {...server, pid}
}

/** Runs a server program: as the `postgres` user when this process is root (util-linux `runuser`, in sbin, which a plain user's PATH may lack). */
async function asServerUser(command: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return void (await $`${command}`.quiet())
  const runuser = Bun.which('runuser') ?? ['/usr/sbin/runuser', '/sbin/runuser'].find((path) => existsSync(path))
  if (!runuser) throw new Error('runuser (util-linux) is needed to start PostgreSQL as root: apt-get install util-linux.')
  await $`${runuser} -u postgres -- ${command}`.quiet()
}

/** A TCP port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

if (import.meta.main) {
  const [command, dir] = process.argv.slice(2)
  if ((command !== 'start' && command !== 'stop') || !dir) {
    console.error('usage: bun tasks/postgres.ts start|stop DIR')
    process.exit(2)
  }
  if (command === 'start') console.log((await startPostgres(dir)).url)
  else await stopPostgres(dir)
}
