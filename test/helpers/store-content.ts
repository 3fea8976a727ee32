/**
 * Reaching under a store in tests, on either database engine: a copy of it, and its
 * content (blobs) read, damaged, removed or added behind its back, wherever it keeps it: files
 * under `$SESS_HOME/blobs/`, or rows of `blob_chunks` on PostgreSQL.
 */
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {POSTGRES_URL_ENV, runSql, type StoreTarget, storeTarget, withClient} from './dialects.ts'

/**
 * A copy of the store of `target` (closed: no connection may be open to its database), removed
 * with the copy's `remove`: its home copied, and on PostgreSQL its database made from the
 * original as a template.
 */
export async function copyStore(target: StoreTarget): Promise<StoreTarget> {
  const copy = await storeTarget(target.dialect, 'sess-copy-')
  cpSync(target.home, copy.home, {recursive: true})
  if (target.databaseUrl !== undefined && copy.databaseUrl !== undefined) {
    const [from, to] = [target.databaseUrl, copy.databaseUrl].map((url) => new URL(url).pathname.slice(1))
    await withClient(process.env[POSTGRES_URL_ENV]!, async (admin) => {
      await admin.query(`drop database ${to}`)
      await admin.query(`create database ${to} template ${from}`)
    })
  }
  return copy
}

/** A store's blobs, wherever it keeps them. */
export interface StoredContent {
  /** `files` (under `$SESS_HOME/blobs/`) or `database` (rows of `blob_chunks`). */
  where(): 'files' | 'database'
  /** The path gc and doctor report for a blob. */
  locate(sessionId: string, blob: string): string
  /** The blobs of a session outside the quarantine, by name, with their stored bytes. */
  blobs(sessionId: string): Promise<Map<string, Uint8Array>>
  /** The stored bytes of the blob at `path` (a path gc or doctor reports: a file, or `blob_chunks:<session id>/<blob>`). */
  read(path: string): Promise<Uint8Array>
  /** Replaces the stored bytes of a blob (behind the store's back: its row is not changed). */
  write(sessionId: string, blob: string, bytes: Uint8Array): Promise<void>
  /** Deletes a blob. */
  remove(sessionId: string, blob: string): Promise<void>
  /** Adds a blob that no row names (as a crash between a blob's commit and its row's leaves). */
  addOrphan(sessionId: string, blob: string, bytes: Uint8Array): Promise<void>
  /** The blobs in the quarantine, as `<session id>/<blob>`, sorted. */
  quarantined(): Promise<string[]>
  /** How many quarantine batches there are (directories of `quarantine/`, and times blobs were quarantined in the database). */
  batches(): Promise<number>
}

/**
 * The content of the store of `target`. On PostgreSQL it is where the store put it: a store whose
 * blob store keeps content in the database writes nothing under `blobs/`, so the content is in
 * files exactly when that directory exists (look once the store has saved something).
 */
export function storedContent(target: StoreTarget): StoredContent {
  const root = join(target.home, 'blobs')
  const quarantine = join(target.home, 'quarantine')
  const where = () => (target.dialect === 'sqlite' || existsSync(root) ? 'files' : 'database')
  const inDatabase = () => where() === 'database'
  const chunks = (sessionId: string, blob?: string) =>
    runSql<{blob: string; data: Uint8Array}>(
      target,
      `select blob, data from blob_chunks where session_id = ? and quarantined_at is null ${blob === undefined ? '' : 'and blob = ?'} order by blob, seq`,
      ...(blob === undefined ? [sessionId] : [sessionId, blob]),
    )
  const byBlob = (rows: {blob: string; data: Uint8Array}[]) => {
    const blobs = new Map<string, Uint8Array>()
    for (const row of rows) blobs.set(row.blob, Buffer.concat([blobs.get(row.blob) ?? new Uint8Array(), row.data]))
    return blobs
  }
  const files = (directory: string) => readdirSync(directory, {withFileTypes: true}).filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
  return {
    addOrphan: async (sessionId, blob, bytes) => {
      if (inDatabase()) {
        await runSql(target, 'insert into blob_chunks (session_id, blob, seq, data) values (?, ?, 0, ?)', sessionId, blob, bytes)
        return
      }
      mkdirSync(join(root, sessionId), {mode: 0o700, recursive: true})
      writeFileSync(join(root, sessionId, blob), bytes, {mode: 0o600})
    },
    batches: async () => {
      const local = existsSync(quarantine) ? readdirSync(quarantine).length : 0
      if (target.dialect === 'sqlite') return local
      const [row] = await runSql<{n: number}>(target, 'select count(distinct quarantined_at) as n from blob_chunks where quarantined_at is not null')
      return local + row!.n
    },
    blobs: async (sessionId) => {
      if (inDatabase()) return byBlob(await chunks(sessionId))
      const directory = join(root, sessionId)
      if (!existsSync(directory)) return new Map()
      return new Map(files(directory).map((entry) => [entry.name, new Uint8Array(readFileSync(join(directory, entry.name)))]))
    },
    locate: (sessionId, blob) => (inDatabase() ? `blob_chunks:${sessionId}/${blob}` : join(root, sessionId, blob)),
    quarantined: async () => {
      const found: string[] = []
      for (const batch of existsSync(quarantine) ? readdirSync(quarantine) : []) {
        const blobs = join(quarantine, batch, 'blobs')
        if (!existsSync(blobs)) continue
        for (const sessionId of readdirSync(blobs)) for (const entry of files(join(blobs, sessionId))) found.push(`${sessionId}/${entry.name}`)
      }
      if (target.dialect === 'postgres') {
        const rows = await runSql<{blob: string}>(target, "select distinct session_id || '/' || blob as blob from blob_chunks where quarantined_at is not null")
        found.push(...rows.map((row) => row.blob))
      }
      return found.sort()
    },
    read: async (path) => {
      const locator = /^blob_chunks:([^/]+)\/(.+)$/.exec(path)
      if (!locator) return new Uint8Array(readFileSync(path))
      const blob = byBlob(await chunks(locator[1]!, locator[2]!)).get(locator[2]!)
      if (!blob) throw new Error(`No chunks of ${path}.`)
      return blob
    },
    remove: async (sessionId, blob) => {
      if (inDatabase()) await runSql(target, 'delete from blob_chunks where session_id = ? and blob = ?', sessionId, blob)
      else unlinkSync(join(root, sessionId, blob))
    },
    where,
    write: async (sessionId, blob, bytes) => {
      if (!inDatabase()) return writeFileSync(join(root, sessionId, blob), bytes)
      await runSql(target, 'delete from blob_chunks where session_id = ? and blob = ?', sessionId, blob)
      await runSql(target, 'insert into blob_chunks (session_id, blob, seq, data) values (?, ?, 0, ?)', sessionId, blob, bytes)
    },
  }
}
