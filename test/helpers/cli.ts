import {mkdtempSync, rmSync} from 'node:fs'
import {afterAll, expect} from 'vitest'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** Root of the repository. */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The shared corpus of real session files (read-only; never edit). Override with SESS_CORPUS_DIR. */
export const CORPUS = process.env.SESS_CORPUS_DIR ?? join(REPO, '..', 'shared', 'corpus')

/**
 * A prefix for {@link sess} that runs it subject to file permissions: as root (which bypasses
 * them), through setpriv(1) without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH; as anyone else, as is.
 */
export const WITHOUT_PRIVILEGE: readonly string[] = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-all'] : []

/** What a CLI run gave back. */
export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout as bytes, for byte-exact comparisons. */
  bytes: Uint8Array
}

/** A private temporary directory, removed by the returned function. */
export function tempDir(prefix = 'sess-test-'): {path: string; remove: () => void} {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return {path, remove: () => rmSync(path, {force: true, recursive: true})}
}

/**
 * A private temporary directory for the tests of the calling `describe` block (or file): made at
 * once, removed after all of them.
 */
export function useTempDir(prefix = 'sess-test-'): {path: string} {
  const dir = tempDir(prefix)
  afterAll(() => dir.remove())
  return {path: dir.path}
}

/** The command line of the real CLI (`bun bin/run.ts …`) with `args`. */
export function sessArgv(args: string[]): string[] {
  return [process.execPath, join(REPO, 'bin', 'run.ts'), ...args]
}

/**
 * The environment the CLI runs in for {@link sess}: `SESS_HOME=home` and a private XDG data dir
 * (so linked plugins stay in the test), no colours, then `env` on top.
 */
export function sessEnv(home: string, env: Record<string, string> = {}): Record<string, string | undefined> {
  return {...process.env, NODE_ENV: 'production', NO_COLOR: '1', SESS_HOME: home, XDG_DATA_HOME: join(home, '..', 'xdg-data'), ...env}
}

/**
 * Runs the real CLI in a child process, in {@link sessEnv}, with optional stdin; `prefix` is a
 * command that runs it (such as {@link WITHOUT_PRIVILEGE}).
 */
export function sess(home: string, args: string[], options: {stdin?: Uint8Array | string; env?: Record<string, string>; cwd?: string; prefix?: readonly string[]} = {}): CliResult {
  const result = Bun.spawnSync([...(options.prefix ?? []), ...sessArgv(args)], {
    cwd: options.cwd ?? REPO,
    env: sessEnv(home, options.env),
    stdin: options.stdin === undefined ? 'ignore' : typeof options.stdin === 'string' ? new TextEncoder().encode(options.stdin) : options.stdin,
  })
  return {
    bytes: new Uint8Array(result.stdout),
    code: result.exitCode ?? -1,
    stderr: result.stderr.toString(),
    stdout: result.stdout.toString(),
  }
}

/** {@link sess} with `--json`, parsing stdout. Throws with the CLI's stderr when stdout is not JSON. */
export function sessJson<T = unknown>(home: string, args: string[], options: Parameters<typeof sess>[2] = {}): {code: number; json: T; stderr: string} {
  const result = sess(home, [...args, '--json'], options)
  try {
    return {code: result.code, json: JSON.parse(result.stdout) as T, stderr: result.stderr}
  } catch {
    throw new Error(`sess ${args.join(' ')} --json printed no JSON (exit ${result.code}).\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  }
}

/**
 * Asserts a clear error: exit `code`, `Error: …` followed by `Hint: …` on stderr (the hint naming
 * the fix), and no stack trace (no `    at …` frames); and, if given, that stderr matches `message`.
 */
export function expectCleanError(result: CliResult, code: number, message?: RegExp): void {
  expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(code)
  expect(result.stderr).toMatch(/^Error: \S.*\nHint: \S/m)
  expect(result.stderr).not.toMatch(/^\s{4}at /m)
  if (message) expect(result.stderr).toMatch(message)
}
