import {realpathSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import type {Kysely} from 'kysely'
import type {Database} from '../db/schema.ts'
import {NotFoundError} from '../errors/index.ts'
import type {Session} from '../session/types.ts'
import type {StoreContext} from '../store/context.ts'
import {toSession} from '../store/rows.ts'
import {terminalIdentity} from './terminal.ts'

/** What a current-session pointer belongs to: a terminal (like tmux's attached session) or a directory (like a git repository's setting). */
export type PointerScope = 'terminal' | 'directory'

/** Where the caller is, for current-session pointers. Each field defaults to this process's. */
export interface Here {
  /** The terminal's identity (see `terminalIdentity()`); `null`: no terminal. */
  terminal?: string | null
  /** The working directory. */
  cwd?: string
}

/** {@link Here} resolved: the terminal's identity and the real path of the directory. */
export interface Place {
  terminal: string | null
  directory: string
}

/** A current-session pointer. */
export interface Pointer {
  scope: PointerScope
  /** The terminal's identity, or the directory's real path. */
  key: string
  sessionId: string
  /** The session's name when the pointer was set (kept up to date by rename). */
  sessionName: string
}

/** The current session and the pointer that made it so (`store.current()`, `sess current --json`). */
export interface CurrentSession extends Pointer {
  session: Session
}

/** Resolves `here`'s defaults: this process's terminal and working directory (its real path, symlinks resolved). */
export function place(here: Here = {}): Place {
  const cwd = resolve(here.cwd ?? process.cwd())
  let directory = cwd
  try {
    directory = realpathSync(cwd)
  } catch {
    // A directory that is gone keeps its path: no pointer can name it anyway.
  }
  return {directory, terminal: here.terminal === undefined ? terminalIdentity() : here.terminal}
}

/** The key of `scope` at `where`, or `null` for a terminal scope outside any terminal. */
export function pointerKey(scope: PointerScope, where: Place): string | null {
  return scope === 'terminal' ? where.terminal : where.directory
}

/**
 * The pointer that applies at `where`: the terminal's, else that of the nearest directory among
 * the working directory and its ancestors (one query for them all).
 */
export async function findPointer(db: Kysely<Database>, where: Place): Promise<Pointer | undefined> {
  if (where.terminal !== null) {
    const own = await db.selectFrom('current_sessions').selectAll().where('scope', '=', 'terminal').where('key', '=', where.terminal).executeTakeFirst()
    if (own) return toPointer(own)
  }
  const dirs = ancestors(where.directory)
  const rows = await db.selectFrom('current_sessions').selectAll().where('scope', '=', 'directory').where('key', 'in', dirs).execute()
  const nearest = rows.sort((a, b) => b.key.length - a.key.length)[0]
  return nearest && toPointer(nearest)
}

/**
 * The live session `pointer` names.
 *
 * @throws {NotFoundError} when that session is in the trash or was deleted (naming it, with the fix).
 */
export async function pointedSession(ctx: StoreContext, pointer: Pointer): Promise<Session> {
  const row = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', pointer.sessionId).executeTakeFirst()
  const whose = pointer.scope === 'terminal' ? 'this terminal' : `the directory ${pointer.key}`
  const other = 'or choose another with `sess switch NAME` (`sess new` starts one)'
  if (!row) throw new NotFoundError(`The current session of ${whose}, ${pointer.sessionName}, was deleted.`, {hint: `Choose another with \`sess switch NAME\`, or start one with \`sess new\`.`})
  if (row.trashed_at !== null) {
    throw new NotFoundError(`The current session of ${whose}, ${row.name}, is in the trash.`, {hint: `\`sess restore --from-trash ${row.name}\` brings it back, ${other}.`})
  }
  return toSession(row, (await ctx.tagsOf([row.id])).get(row.id) ?? [])
}

/**
 * The current session at `where`: the terminal's pointer first, else the nearest directory's.
 *
 * @throws {NotFoundError} when there is none, or it names a session in the trash or deleted.
 */
export async function currentSession(ctx: StoreContext, where: Place): Promise<CurrentSession> {
  ctx.assertOpen()
  const pointer = await findPointer(ctx.db, where)
  if (!pointer) {
    throw new NotFoundError(`No current session in this ${where.terminal === null ? '' : 'terminal or '}directory.`, {
      hint: 'Choose one with `sess switch NAME` (`--dir` for this directory), or start one with `sess new`; `sess list` shows them.',
    })
  }
  return {...pointer, session: await pointedSession(ctx, pointer)}
}

/** The live session current at `where`, or `undefined` when there is none or its pointer dangles. */
export async function currentOrNone(ctx: StoreContext, where: Place): Promise<Session | undefined> {
  const pointer = await findPointer(ctx.db, where)
  return pointer && pointedSession(ctx, pointer).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined
    throw error
  })
}

/** Points `scope`/`key` at `session` (replacing what it pointed at). Runs inside a write transaction. */
export async function setPointer(trx: Kysely<Database>, scope: PointerScope, key: string, session: {id: string; name: string}, now: number): Promise<void> {
  await trx
    .insertInto('current_sessions')
    .values({key, scope, session_id: session.id, session_name: session.name, set_at: now})
    .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet({session_id: session.id, session_name: session.name, set_at: now}))
    .execute()
}

/** `dir` and each of its ancestors up to the root. */
function ancestors(dir: string): string[] {
  const out = [dir]
  for (let parent = dirname(dir); parent !== out.at(-1); parent = dirname(parent)) out.push(parent)
  return out
}

function toPointer(row: {scope: string; key: string; session_id: string; session_name: string}): Pointer {
  return {key: row.key, scope: row.scope as PointerScope, sessionId: row.session_id, sessionName: row.session_name}
}

/** Pointers whose session no longer exists (purged): litter for `sess doctor --fix`. */
export async function danglingPointers(db: Kysely<Database>): Promise<Pointer[]> {
  const rows = await db
    .selectFrom('current_sessions')
    .selectAll()
    .where((eb) => eb.not(eb.exists(eb.selectFrom('sessions').select('sessions.id').whereRef('sessions.id', '=', 'current_sessions.session_id'))))
    .execute()
  return rows.map(toPointer)
}

/** Removes pointer `scope`/`key` if it still names session `sessionId`. */
export async function removePointer(ctx: StoreContext, pointer: Pointer): Promise<void> {
  await ctx.write((trx) => trx.deleteFrom('current_sessions').where('scope', '=', pointer.scope).where('key', '=', pointer.key).where('session_id', '=', pointer.sessionId).execute())
}
