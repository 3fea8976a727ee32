import {createHash} from 'node:crypto'
import {lstatSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {TEMP_FILE} from '../../../plugins/cleanup/src/content/home-scan.ts'
import {NotFoundError, openStore} from '../../../src/index.ts'
import type {Store} from '../../../src/store/store.ts'

/**
 * What a session holds, as `bun run stress` compares it between runs: everything a user could
 * read back, as digests, and nothing that differs between two runs of the same commands (ids,
 * times, fencing tokens).
 */
export interface SessionState {
  trashed: boolean
  status: string
  /** SHA-256 of each saved original as `store.restore` gives it back, oldest version first. */
  originals: string[]
  /** Count and SHA-256 of the transcript's records, as `store.records` streams them. */
  records: string
  /** Count and SHA-256 of the output buffer's events, as `store.output` streams them. */
  output: string
  /** Sequence number and SHA-256 of the latest snapshot, or `null` (none, or in the trash). */
  snapshot: string | null
  /** The pid holding the session's lock, or `null` when free. */
  lockHolder: number | null
  /** Why reading it back failed, if it did: a damaged store. */
  error?: string
}

/** A store's sessions by name, and its files outside the database (`config.json`, files written by `sess restore --to`) by path: SHA-256, or absent. */
export interface StoreState {
  sessions: Map<string, SessionState>
  files: Map<string, string>
}

/**
 * Reads back everything of the store at `home` through the library (which opens it as any
 * command does, recovering its WAL), and digests `files` (paths relative to `base`, absent ones
 * left out). Temp files are no part of the state: doctor looks for them.
 *
 * @throws what `openStore` throws when the store cannot be opened at all.
 */
export async function readState(home: string, base: string, files: readonly string[]): Promise<StoreState> {
  const state: StoreState = {files: new Map(), sessions: new Map()}
  for (const file of files) {
    const path = join(base, file)
    if (lstatSync(path, {throwIfNoEntry: false})?.isFile()) state.files.set(file, digest(readFileSync(path)))
  }
  await using store = await openStore({home})
  const holders = new Map((await store.locks()).filter((lock) => lock.held).map((lock) => [lock.sessionId, lock.holder.pid]))
  const sessions = [...(await store.list()), ...(await store.list({trashed: true}))]
  for (const session of sessions) {
    const trashed = session.trashedAt !== null
    const key = trashed && sessions.some((other) => other.name === session.name && other.trashedAt === null) ? `${session.name} (trash)` : session.name
    state.sessions.set(key, await readSession(store, session.id, trashed, session.status, holders.get(session.id) ?? null))
  }
  return state
}

async function readSession(store: Store, id: string, trashed: boolean, status: string, lockHolder: number | null): Promise<SessionState> {
  const state: SessionState = {lockHolder, originals: [], output: '', records: '', snapshot: null, status, trashed}
  try {
    for (const version of await store.versions(id, {includeTrashed: true})) {
      const {bytes} = await store.restore(id, {fromTrash: trashed, version: version.version})
      state.originals.push(digest(bytes))
    }
    const records: string[] = []
    for await (const record of store.records(id, {includeTrashed: true})) records.push(JSON.stringify(record))
    state.records = `${records.length}:${digest(records.join('\n'))}`
    const events: string[] = []
    for await (const event of store.output(id, {includeTrashed: true})) events.push(JSON.stringify(event))
    state.output = `${events.length}:${digest(events.join('\n'))}`
    if (!trashed) {
      const snapshot = await store.latestSnapshot(id).catch((error: unknown) => (error instanceof NotFoundError ? undefined : Promise.reject(error)))
      if (snapshot) state.snapshot = `${snapshot.seq}:${digest(snapshot.bytes)}`
    }
  } catch (error) {
    state.error = (error as Error).message
  }
  return state
}

/**
 * How `after` differs from what it may be, one line per difference (empty: it may be that): each
 * session and file as in `reference` (the state a run without faults reached) or, when `before`
 * is given, as it was before the run. Each session and file on its own: a run that failed half
 * way may have committed some of its sessions (each wholly) and not others.
 */
export function compareStates(after: StoreState, allowed: {before?: StoreState; reference: StoreState}): string[] {
  const problems: string[] = []
  const choices = [allowed.before, allowed.reference].filter((state) => state !== undefined)
  const names = new Set(choices.flatMap((state) => [...state.sessions.keys()]).concat([...after.sessions.keys()]))
  for (const name of names) {
    const actual = after.sessions.get(name)
    if (choices.some((state) => sameSession(actual, state.sessions.get(name)))) continue
    const expected = choices.map((state) => describeSession(state.sessions.get(name))).join(' or ')
    problems.push(`session ${name}: ${describeSession(actual)}, expected ${expected}`)
  }
  const files = new Set(choices.flatMap((state) => [...state.files.keys()]).concat([...after.files.keys()]))
  for (const file of files) {
    const actual = after.files.get(file)
    if (choices.some((state) => state.files.get(file) === actual)) continue
    problems.push(`file ${file}: ${actual ?? 'absent'}, expected ${choices.map((state) => state.files.get(file) ?? 'absent').join(' or ')}`)
  }
  return problems
}

function sameSession(a: SessionState | undefined, b: SessionState | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

function describeSession(state: SessionState | undefined): string {
  if (!state) return 'absent'
  if (state.error) return `unreadable (${state.error})`
  const parts = [state.trashed ? 'in the trash' : 'live', state.status, `${state.originals.length} version(s)`, `records ${state.records.split(':')[0]}`, `output ${state.output.split(':')[0]}`]
  if (state.snapshot) parts.push(`snapshot ${state.snapshot.split(':')[0]}`)
  if (state.lockHolder !== null) parts.push(`locked by ${state.lockHolder}`)
  return parts.join(', ')
}

/** Hex SHA-256 of `bytes`. */
export function digest(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Temp files of atomic writes (`.<name>.tmp-<hex>`, as doctor knows them) directly in `directory`. */
export function tempFilesIn(directory: string): string[] {
  return readdirSync(directory).filter((name) => TEMP_FILE.test(name))
}
