import {sql} from 'kysely'
import type {StoreContext} from '../../../../src/store/context.ts'
import type {StoreLayout} from '../../../../src/store/home.ts'
import {FileContent} from './files.ts'
import {type ContentScan, type FoundBatch, type FoundBlob, homeQuarantine, scanHome} from './home-scan.ts'
import type {ContentSource} from './source.ts'

/** What every locator of content in the database starts with: the table's name. */
const PREFIX = 'blob_chunks:'

/** Chunks read per round trip when a blob is hashed: a few MiB at most in memory. */
const HASH_PAGE = 8

/** Bytes of a chunk's data as stored (PostgreSQL reads it from the value's header: no detoasting). */
const CHUNK_BYTES = sql<number>`octet_length(data)`

/**
 * Blobs as rows of `blob_chunks` (a store shared on PostgreSQL, DESIGN §8): a blob is its chunks
 * `seq` 0, 1, … (its stored length, the sum of their lengths), committed in a transaction of its
 * own before the row that names it. A transaction leaves no temp file; a crash between a blob's
 * commit and its row's leaves an orphan blob, which is quarantined by setting `quarantined_at`
 * (this run's time) on its chunks, and deleted after the trash's grace period.
 *
 * Content is named by locators: `blob_chunks:<session id>/<blob>` (a blob),
 * `blob_chunks:<session id>` (every blob of a session), `blob_chunks:quarantine/<ms>` (the blobs
 * quarantined at that time: one batch). The home's own files (temp files of settings, symlinks,
 * modes, a quarantine of symlinks) are checked as for any store, but its `blobs/` is not this
 * store's content and is left alone.
 */
export class ChunkContent implements ContentSource {
  readonly #ctx: StoreContext
  readonly #layout: StoreLayout
  readonly #now: number
  /** The home's files: their quarantine (of symlinks) is a directory as ever. */
  readonly #home: FileContent
  #marked = false

  /** @param now the run's time (ms): `quarantined_at` of what it quarantines. */
  constructor(ctx: StoreContext, layout: StoreLayout, now: number) {
    this.#ctx = ctx
    this.#layout = layout
    this.#now = now
    this.#home = new FileContent(layout, now)
  }

  async scan(): Promise<ContentScan> {
    const scan = scanHome(this.#layout, {blobFiles: false})
    const rows = await this.#ctx.db
      .selectFrom('blob_chunks')
      .select(['session_id', 'blob', (eb) => eb.fn.sum(CHUNK_BYTES).as('bytes')])
      .where('quarantined_at', 'is', null)
      .groupBy(['session_id', 'blob'])
      .execute()
    for (const row of rows) {
      let dir = scan.dirs.get(row.session_id)
      if (!dir) scan.dirs.set(row.session_id, (dir = {blobs: new Map<string, FoundBlob>(), path: `${PREFIX}${row.session_id}`}))
      dir.blobs.set(row.blob, {blob: row.blob, bytes: Number(row.bytes), path: this.locate(row.session_id, row.blob)})
    }
    scan.quarantine.push(...(await this.#batches()))
    return scan
  }

  async quarantineBatches(): Promise<FoundBatch[]> {
    return [...homeQuarantine(this.#layout), ...(await this.#batches())]
  }

  /** The blobs quarantined at each time, as batches. */
  async #batches(): Promise<FoundBatch[]> {
    const rows = await this.#ctx.db
      .selectFrom('blob_chunks')
      .select(['quarantined_at', (eb) => eb.fn.sum(CHUNK_BYTES).as('bytes')])
      .where('quarantined_at', 'is not', null)
      .groupBy('quarantined_at')
      .orderBy('quarantined_at')
      .execute()
    return rows.map((row) => ({at: Number(row.quarantined_at), bytes: Number(row.bytes), path: `${PREFIX}quarantine/${Number(row.quarantined_at)}`}))
  }

  locate(sessionId: string, blob: string): string {
    return `${PREFIX}${sessionId}/${blob}`
  }

  async storedLength(sessionId: string, blob: string): Promise<number | undefined> {
    const row = await this.#ctx.db
      .selectFrom('blob_chunks')
      .select([(eb) => eb.fn.countAll().as('chunks'), (eb) => eb.fn.sum(CHUNK_BYTES).as('bytes')])
      .where('session_id', '=', sessionId)
      .where('blob', '=', blob)
      .where('quarantined_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.chunks) === 0 ? undefined : Number(row.bytes)
  }

  /** Reads the chunks in order, {@link HASH_PAGE} per query, hashing as it goes. */
  async storedSha256(sessionId: string, blob: string): Promise<string | undefined> {
    const hasher = new Bun.CryptoHasher('sha256')
    let next = 0
    for (;;) {
      const page = await this.#ctx.db
        .selectFrom('blob_chunks')
        .select(['seq', 'data'])
        .where('session_id', '=', sessionId)
        .where('blob', '=', blob)
        .where('quarantined_at', 'is', null)
        .where('seq', '>=', next)
        .orderBy('seq')
        .limit(HASH_PAGE)
        .execute()
      if (next === 0 && page.length === 0) return undefined
      for (const row of page) hasher.update(row.data)
      if (page.length < HASH_PAGE) return hasher.digest('hex')
      next = Number(page.at(-1)!.seq) + 1
    }
  }

  async quarantine(path: string): Promise<boolean> {
    const target = parseLocator(path)
    if (target === undefined) return this.#home.quarantine(path)
    if ('at' in target) return false // a batch is in the quarantine already
    const {blob, sessionId} = target
    const result = await this.#ctx.write((trx) =>
      trx
        .updateTable('blob_chunks')
        .set({quarantined_at: this.#now})
        .where('session_id', '=', sessionId)
        .$if(blob !== undefined, (q) => q.where('blob', '=', blob!))
        .where('quarantined_at', 'is', null)
        .executeTakeFirst(),
    )
    const moved = Number(result.numUpdatedRows) > 0
    this.#marked ||= moved
    return moved
  }

  get quarantined(): string | undefined {
    return this.#home.quarantined ?? (this.#marked ? `${PREFIX}quarantine/${this.#now}` : undefined)
  }

  /** One transaction deletes every chunk of the sessions: durable once it commits. */
  purgeBlocker(): undefined {
    return undefined // rows: nothing can stand in their place
  }

  async deleteSessions(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length > 0) await this.#ctx.write((trx) => trx.deleteFrom('blob_chunks').where('session_id', 'in', ids).execute())
    return new Map()
  }

  async deleteBatch(path: string): Promise<void> {
    const target = parseLocator(path)
    if (target === undefined || !('at' in target)) return this.#home.deleteBatch(path)
    await this.#ctx.write((trx) => trx.deleteFrom('blob_chunks').where('quarantined_at', '=', target.at).execute())
  }

  async blobBytes(): Promise<number> {
    const row = await this.#ctx.db
      .selectFrom('blob_chunks')
      .select((eb) => eb.fn.sum(CHUNK_BYTES).as('bytes'))
      .where('quarantined_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.bytes ?? 0)
  }
}

/** What a locator of {@link ChunkContent} names; `undefined` for a path of the home. */
function parseLocator(path: string): {sessionId: string; blob?: string} | {at: number} | undefined {
  if (!path.startsWith(PREFIX)) return undefined
  const rest = path.slice(PREFIX.length)
  const batch = /^quarantine\/(\d+)$/.exec(rest)
  if (batch) return {at: Number(batch[1])}
  const slash = rest.indexOf('/')
  return slash === -1 ? {sessionId: rest} : {blob: rest.slice(slash + 1), sessionId: rest.slice(0, slash)}
}
