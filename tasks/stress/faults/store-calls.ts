import type {TracedCall} from './strace.ts'

/** A system call a write path makes on its store, as found in a trace of a run without faults. */
export interface StoreCall {
  syscall: string
  /** Its number among the calls of {@link syscall} in that run (strace's `when=` without `-P`). */
  index: number
  /**
   * What it does, the same in every run: the system call and its paths relative to the store
   * (`~0` its home, `~1`… the other roots), generated ids and random suffixes replaced, and its
   * open flags (`openat ~0/blobs/<id>/.<id>.tmp-<hex> O_WRONLY|O_CREAT…`).
   */
  identity: string
  /** 1-based: how many calls with this identity the run had made, this one included. */
  occurrence: number
  /**
   * When the call's first path is the same in every run (`~0/sess.db-wal`, or the blob directory
   * of a session the template holds), not one made of ids or suffixes the run draws anew: that
   * path, relative as in {@link identity}, and the call's number among the calls of
   * {@link syscall} on that path (strace's `when=` with `-P PATH`, which counts only those; it
   * matches a rename by its first path only).
   */
  fixed?: {path: string; index: number}
  /** For `write`/`pwrite64`: the bytes it wrote. */
  bytes: number
  /** For `openat`: whether it opens for writing (creating) rather than reading. */
  writes: boolean
  /**
   * An fsync that SQLite makes after what the command reports is already durable, and whose
   * failure cannot make that report false (SQLite's os_unix.c and wal.c):
   * - `checkpoint`: the fsyncs of a checkpoint (of the WAL before it copies pages into
   *   `sess.db`, of `sess.db` after). A checkpoint that fails is not recorded as done: the WAL
   *   keeps every frame, nothing is deleted, and the next checkpoint copies them again.
   * - `dirsync`: SQLite's fsync of the database's directory after it opened the WAL, whose
   *   result SQLite ignores (`unixSync`: "full_fsync(dirfd)" unchecked); sess fsyncs that
   *   directory itself once the WAL is open, and fails if that fsync fails.
   */
  sqlite?: 'checkpoint' | 'dirsync'
}

const ULID = /[0-9A-HJKMNP-TV-Z]{26}/g
const HEX_SUFFIX = /tmp-[0-9a-f]{12}/g
const QUARANTINE_BATCH = /\/\d{13}-[0-9a-z]+/

/**
 * Whether `path` is on the store: `root` itself or below one of `roots` (the store's home, and
 * for `sess restore --to`, the directory written to).
 */
export function onStore(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(`${root}/`))
}

/** `path` relative to the one of `roots` it is under (`~0/sess.db`), or `undefined` when it is off the store. */
export function relativeTo(path: string, roots: readonly string[]): string | undefined {
  const root = roots.findIndex((r) => onStore(path, [r]))
  return root === -1 ? undefined : `~${root}${path.slice(roots[root]!.length)}`
}

/** `relative` (as {@link relativeTo} gives it) as an absolute path under `roots`. */
export function absolute(relative: string, roots: readonly string[]): string {
  const [, root = '0', rest = ''] = /^~(\d+)(.*)$/.exec(relative) ?? []
  return `${roots[Number(root)]}${rest}`
}

/** `call`'s identity (see {@link StoreCall.identity}). */
export function identityOf(call: TracedCall, roots: readonly string[]): string {
  const paths = call.paths.flatMap((path) => relativeTo(path, roots) ?? []).map((path) => path.replace(ULID, '<id>').replace(HEX_SUFFIX, 'tmp-<hex>').replace(new RegExp(QUARANTINE_BATCH, 'g'), '/<batch>'))
  return [call.syscall, ...new Set(paths), call.flags].join(' ').trim()
}

/**
 * The calls of `calls` (one run's trace) that touch the store under `roots`, each with its
 * identity and occurrence, in order. `known` holds the ids (ULIDs) in the names of the files the
 * run started from: a path made only of those (and of fixed names) is the same in every run.
 */
export function storeCalls(calls: readonly TracedCall[], roots: readonly string[], known: ReadonlySet<string>): StoreCall[] {
  const seen = new Map<string, number>()
  const onPath = new Map<string, number>()
  const openedWith = new Map<string, string>()
  const found: (StoreCall & {path: string})[] = []
  for (const call of calls) {
    const relative = call.paths.flatMap((path) => relativeTo(path, roots) ?? [])
    if (relative.length === 0) continue
    const path = call.paths.at(-1) ?? ''
    if (call.syscall === 'openat') openedWith.set(path, call.flags)
    const identity = identityOf(call, roots)
    const occurrence = (seen.get(identity) ?? 0) + 1
    seen.set(identity, occurrence)
    for (const each of new Set(relative)) onPath.set(`${call.syscall} ${each}`, (onPath.get(`${call.syscall} ${each}`) ?? 0) + 1)
    // strace's -P matches the first path of a rename, so only a call whose first path is stable is counted by it.
    const first = relative[0]!
    const stable = !first.includes('.tmp-') && !QUARANTINE_BATCH.test(first) && [...first.matchAll(ULID)].every(([id]) => known.has(id)) ? first : undefined
    const sync = call.syscall === 'fsync' || call.syscall === 'fdatasync'
    found.push({
      bytes: call.syscall === 'write' || call.syscall === 'pwrite64' ? Math.max(0, call.retval) : 0,
      identity,
      index: call.index,
      occurrence,
      path,
      syscall: call.syscall,
      writes: /O_WRONLY|O_RDWR|O_CREAT/.test(call.flags),
      ...(stable === undefined ? {} : {fixed: {index: onPath.get(`${call.syscall} ${stable}`)!, path: stable}}),
      ...(sync && path === roots[0] && !openedWith.get(path)?.includes('O_DIRECTORY') ? {sqlite: 'dirsync' as const} : {}),
    })
  }
  const database = `${roots[0]}/sess.db`
  return found.map(({path, ...call}, index) => {
    if (call.syscall !== 'fsync' && call.syscall !== 'fdatasync') return call
    const nextWrite = found.slice(index + 1).find((later) => later.syscall === 'pwrite64')
    const checkpoint = path === database || (path === `${database}-wal` && nextWrite?.path === database)
    return checkpoint ? {...call, sqlite: 'checkpoint' as const} : call
  })
}

/**
 * Whether the first injected call of `traced` (a trace of the target's system call in a run with
 * a fault injected) is `target`. When it is not (that run made a call more or less before the
 * target, e.g. it loaded a module on this thread rather than on another, or read
 * `/proc/self/statm` for its heap), `estimate`: where the target probably is in a run like that
 * one, from the last call of the dry run's `calls` before the target that this run had made, or
 * from the target itself if the run passed it.
 */
export function hitTarget(traced: readonly TracedCall[], target: StoreCall, calls: readonly StoreCall[], roots: readonly string[]): {hit: boolean; estimate?: number} {
  const injected = traced.find((call) => call.injected)
  const limit = injected?.index ?? Number.POSITIVE_INFINITY
  const seen = new Map<string, number>()
  let anchor: {run: number; dry: number} | undefined
  for (const call of traced) {
    if (call.index > limit) break
    if (call.syscall !== target.syscall || !call.paths.some((path) => onStore(path, roots))) continue
    const identity = identityOf(call, roots)
    const occurrence = (seen.get(identity) ?? 0) + 1
    seen.set(identity, occurrence)
    if (identity === target.identity && occurrence === target.occurrence) {
      return call.index === injected?.index ? {hit: true} : {estimate: call.index, hit: false}
    }
    const dry = calls.find((known) => known.syscall === call.syscall && known.identity === identity && known.occurrence === occurrence)
    if (dry && dry.index < target.index) anchor = {dry: dry.index, run: call.index}
  }
  return {estimate: anchor ? target.index + anchor.run - anchor.dry : undefined, hit: false}
}
