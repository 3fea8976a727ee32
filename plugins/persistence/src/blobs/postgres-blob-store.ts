import type {Kysely} from 'kysely'
import {ulid} from 'ulid'
import type {Database} from '../../../../src/db/schema.ts'
import {StorageError} from '../../../../src/errors/index.ts'
import {isSessionId} from '../../../../src/session/names.ts'
import {type BlobRef, type BlobStore, missingBlob, sha256} from '../../../../src/store/blob-store.ts'
import {checkedContent, storedLength} from './integrity.ts'

/**
 * Size of a chunk of a blob in `blob_chunks`, bytes (the last chunk is shorter; an empty blob is
 * one empty chunk). 256 KiB keeps each row's `bytea` well under PostgreSQL's TOAST limits and the
 * memory a read holds beside the blob (one chunk, and its hex text as the server sends it) small.
 */
export const CHUNK_BYTES = 256 * 1024

/**
 * Blobs as rows, for a store shared on PostgreSQL (DESIGN §8): blob `blob` of a session is the
 * chunks `seq` 0, 1, … of `blob_chunks` (each {@link CHUNK_BYTES} long but the last), so that
 * every machine sharing the database reads it. Nothing goes to the home directory.
 *
 * A blob is written in one transaction of its own, committed (`synchronous_commit=on`) before
 * `put` returns: the commit is its durability point, as the fsync and rename are for a file, and
 * a blob is wholly there or not there after a crash of the client or the server. It is read back
 * one chunk per query into one buffer of its stored length, and checked as a file is (codec, both
 * SHA-256s): a read holds the blob and one chunk (with its hex text, as the server sends `bytea`)
 * at a time, though the texts of chunks already read stay until the garbage collector frees them
 * (peak RSS measured at about twice a 48–64 MiB blob above the process's baseline). Rows that gc
 * or doctor set aside (`quarantined_at`) are neither read nor deleted here.
 */
export class PostgresBlobStore implements BlobStore {
  readonly #db: Kysely<Database>

  /** @param db the store's database (its synchronous-commit pool). */
  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async put(sessionId: string, bytes: Uint8Array): Promise<BlobRef> {
    assertSessionId(sessionId)
    const blob = ulid()
    await this.#db.transaction().execute(async (trx) => {
      for (let seq = 0, offset = 0; seq === 0 || offset < bytes.length; seq++, offset += CHUNK_BYTES) {
        const data = Buffer.from(bytes.buffer, bytes.byteOffset + offset, Math.min(CHUNK_BYTES, bytes.length - offset))
        await trx.insertInto('blob_chunks').values({blob, data, quarantined_at: null, seq, session_id: sessionId}).execute()
      }
    })
    return {blob, bytes: bytes.length, sha256: sha256(bytes)}
  }

  async get(sessionId: string, ref: BlobRef): Promise<Uint8Array> {
    assertSessionId(sessionId)
    const where = `blob ${ref.blob} of session ${sessionId} (in PostgreSQL)`
    const expected = storedLength(ref)
    // Filled in place while the chunks fit; what does not fit (a damaged blob) is kept aside for the message.
    const stored = new Uint8Array(expected)
    const beyond: Uint8Array[] = []
    let fitted = 0
    let chunks = 0
    for (let data = await this.#chunk(sessionId, ref.blob, 0); data !== undefined; data = await this.#chunk(sessionId, ref.blob, ++chunks)) {
      if (beyond.length === 0 && fitted + data.length <= expected) {
        stored.set(data, fitted)
        fitted += data.length
      } else beyond.push(data)
    }
    // No chunk, or fewer bytes because the blob was deleted while it was read (gc switched its row to a compressed copy).
    if (chunks === 0 || (fitted < expected && (await this.#chunk(sessionId, ref.blob, 0)) === undefined)) throw missingBlob(where)
    return checkedContent(where, beyond.length === 0 ? stored.subarray(0, fitted) : Buffer.concat([stored.subarray(0, fitted), ...beyond]), ref)
  }

  async delete(sessionId: string, blob: string): Promise<void> {
    assertSessionId(sessionId)
    await this.#db.deleteFrom('blob_chunks').where('session_id', '=', sessionId).where('blob', '=', blob).where('quarantined_at', 'is', null).execute()
  }

  async deleteSession(sessionId: string): Promise<void> {
    assertSessionId(sessionId)
    await this.#db.deleteFrom('blob_chunks').where('session_id', '=', sessionId).where('quarantined_at', 'is', null).execute()
  }

  /** Chunk `seq` of a blob, or `undefined` when there is none. */
  async #chunk(sessionId: string, blob: string, seq: number): Promise<Uint8Array | undefined> {
    const row = await this.#db
      .selectFrom('blob_chunks')
      .select('data')
      .where('session_id', '=', sessionId)
      .where('blob', '=', blob)
      .where('seq', '=', seq)
      .where('quarantined_at', 'is', null)
      .executeTakeFirst()
    return row?.data
  }
}

function assertSessionId(sessionId: string): void {
  if (!isSessionId(sessionId)) throw new StorageError(`Not a session id: ${JSON.stringify(sessionId)}`)
}
