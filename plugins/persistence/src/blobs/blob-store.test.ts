import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sql} from 'kysely'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {connectDatabase, type MetadataDatabase} from '../../../../src/db/connect.ts'
import {StorageError} from '../../../../src/errors/index.ts'
import {type BlobRef, type BlobStore, isMissingBlob, sha256} from '../../../../src/store/blob-store.ts'
import {storeLayout} from '../../../../src/store/home.ts'
import {openStore} from '../../../../src/store/open-store.ts'
import {DIALECTS, type StoreTarget, storedBlobs, storeTarget} from '../../../../test/helpers/dialects.ts'
import {encode} from './codec.ts'
import {FileBlobStore} from './file-blob-store.ts'
import {CHUNK_BYTES, PostgresBlobStore} from './postgres-blob-store.ts'

const SESSION = '01HF7YAT00FZV0YJ1EVBRAFC6X'
const OTHER = '01HF7YAT00FZV0YJ1EVBRAFC6Y'

/** `length` bytes that differ from one offset to the next (and from one `seed` to another). */
function bytesOf(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length)
  let state = seed
  for (let i = 0; i < length; i++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

/** Text that compresses well, `length` bytes of it. */
function textOf(length: number): Uint8Array {
  return new TextEncoder().encode('a session line that repeats itself\n'.repeat(Math.ceil(length / 35)).slice(0, length))
}

async function expectFailure(read: Promise<unknown>, message: RegExp): Promise<StorageError> {
  const error = await read.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(StorageError)
  expect((error as StorageError).message).toMatch(message)
  return error as StorageError
}

describe.each(DIALECTS)('blob store on %s', (dialect) => {
  let target: StoreTarget
  let database: MetadataDatabase
  let blobs: BlobStore

  beforeEach(async () => {
    target = await storeTarget(dialect)
    await (await openStore(target.options)).close() // the home, and the tables
    database = await connectDatabase(target.databaseUrl ?? storeLayout(target.home).database)
    blobs = dialect === 'postgres' ? new PostgresBlobStore(database.db) : new FileBlobStore(storeLayout(target.home).blobs)
  })

  afterEach(async () => {
    await database.destroy()
    await target.remove()
  })

  /** Replaces the stored form of a blob with what `change` makes of it (its file, or its chunks re-cut). */
  async function tamper(blob: string, change: (stored: Uint8Array) => Uint8Array): Promise<void> {
    if (dialect === 'sqlite') {
      const path = join(storeLayout(target.home).blobs, SESSION, blob)
      writeFileSync(path, change(new Uint8Array(readFileSync(path))))
      return
    }
    const rows = await database.db.selectFrom('blob_chunks').select('data').where('blob', '=', blob).orderBy('seq').execute()
    const changed = change(Buffer.concat(rows.map((row) => row.data)))
    await database.db.deleteFrom('blob_chunks').where('blob', '=', blob).execute()
    for (let seq = 0; seq * CHUNK_BYTES < Math.max(1, changed.length); seq++) {
      await database.db
        .insertInto('blob_chunks')
        .values({blob, data: changed.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES), quarantined_at: null, seq, session_id: SESSION})
        .execute()
    }
  }

  it('gives back what it was given, byte for byte, at every size around a chunk boundary', async () => {
    for (const length of [0, 1, 1000, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
      const bytes = bytesOf(length, length + 1)
      const ref = await blobs.put(SESSION, bytes)
      expect(ref).toEqual({blob: expect.stringMatching(/^[0-9A-Z]{26}$/), bytes: length, sha256: sha256(bytes)})
      expect(Buffer.from(await blobs.get(SESSION, ref)).equals(Buffer.from(bytes)), `${length} bytes`).toBe(true)
    }
    const [a, b] = [await blobs.put(SESSION, bytesOf(10)), await blobs.put(SESSION, bytesOf(10))]
    expect(a.blob).not.toBe(b.blob)
    expect(await storedBlobs(target, SESSION)).toHaveLength(9)
  })

  it.each(['zstd', 'gzip'] as const)('decodes %s content and checks the SHA-256 of both forms', async (codec) => {
    const bytes = textOf(2 * CHUNK_BYTES + 5)
    const stored = encode(codec, bytes)
    const put = await blobs.put(SESSION, stored)
    const ref: BlobRef = {blob: put.blob, bytes: bytes.length, codec, sha256: sha256(bytes), storedBytes: stored.length, storedSha256: sha256(stored)}
    expect(Buffer.from(await blobs.get(SESSION, ref)).equals(Buffer.from(bytes))).toBe(true)
    await expectFailure(blobs.get(SESSION, {...ref, sha256: sha256(bytesOf(3))}), /is damaged: SHA-256 \w+ \(\d+ bytes\) once decompressed, expected/)
    await expectFailure(blobs.get(SESSION, {...ref, storedSha256: sha256(bytesOf(3))}), new RegExp(`is damaged: SHA-256 \\w+ \\(${stored.length} bytes\\) \\(${codec}\\)`))
    const garbage = bytesOf(stored.length)
    await tamper(put.blob, () => garbage)
    await expectFailure(blobs.get(SESSION, {...ref, storedSha256: sha256(garbage)}), new RegExp(`is damaged: it does not decompress as ${codec}`))
  })

  it('reports a changed byte, a shorter copy and a longer copy as damaged, not missing', async () => {
    const bytes = bytesOf(2 * CHUNK_BYTES + CHUNK_BYTES / 2)
    const ref = await blobs.put(SESSION, bytes)
    const flipped = Buffer.from(bytes)
    flipped[CHUNK_BYTES + 7] = flipped[CHUNK_BYTES + 7]! ^ 0xff
    const shorter = bytes.subarray(0, CHUNK_BYTES + 3)
    const longer = Buffer.concat([bytes, bytesOf(CHUNK_BYTES, 9)])
    for (const [copy, length] of [[flipped, bytes.length], [shorter, shorter.length], [longer, longer.length]] as const) {
      await tamper(ref.blob, () => copy)
      const error = await expectFailure(blobs.get(SESSION, ref), new RegExp(`is damaged: SHA-256 ${sha256(copy)} \\(${length} bytes\\), expected ${ref.sha256} \\(${bytes.length} bytes\\)`))
      expect(isMissingBlob(error)).toBe(false)
      expect(error.hint).toMatch(/restore another version/i)
    }
  })

  it('reports a blob that is not there as missing, and deletes one blob or every blob of a session', async () => {
    const [a, b] = [await blobs.put(SESSION, bytesOf(100, 1)), await blobs.put(SESSION, bytesOf(CHUNK_BYTES + 1, 2))]
    const kept = await blobs.put(OTHER, bytesOf(100, 3))
    const never = {...a, blob: '01HF7YAT00FZV0YJ1EVBRAFC70'}
    expect(isMissingBlob(await expectFailure(blobs.get(SESSION, never), /\S/))).toBe(true)
    await blobs.delete(SESSION, a.blob)
    expect(isMissingBlob(await expectFailure(blobs.get(SESSION, a), /\S/))).toBe(true)
    await blobs.delete(SESSION, a.blob) // gone already: no error
    expect((await blobs.get(SESSION, b)).length).toBe(CHUNK_BYTES + 1)
    await blobs.deleteSession(SESSION)
    expect(isMissingBlob(await expectFailure(blobs.get(SESSION, b), /\S/))).toBe(true)
    expect(await storedBlobs(target, SESSION)).toEqual([])
    await blobs.deleteSession(SESSION) // nothing left: no error
    expect((await blobs.get(OTHER, kept)).length).toBe(100)
  })

  it('takes session ids only', async () => {
    for (const bad of ['../etc', 'nope', '']) await expect(blobs.put(bad, bytesOf(1))).rejects.toBeInstanceOf(StorageError)
  })
})

describe('PostgresBlobStore', () => {
  let target: StoreTarget
  let database: MetadataDatabase
  let blobs: PostgresBlobStore

  beforeEach(async () => {
    target = await storeTarget('postgres')
    await (await openStore(target.options)).close()
    database = await connectDatabase(target.databaseUrl!)
    blobs = new PostgresBlobStore(database.db)
  })

  afterEach(async () => {
    await database.destroy()
    await target.remove()
  })

  const chunksOf = async (blob: string) =>
    (await database.db.selectFrom('blob_chunks').select(['seq', sql<number>`length(data)`.as('length')]).where('blob', '=', blob).orderBy('seq').execute()).map((row) => [row.seq, Number(row.length)])

  it('stores a blob as chunks of CHUNK_BYTES numbered from 0, and an empty one as one empty chunk', async () => {
    expect(await chunksOf((await blobs.put(SESSION, bytesOf(2 * CHUNK_BYTES + 10))).blob)).toEqual([
      [0, CHUNK_BYTES],
      [1, CHUNK_BYTES],
      [2, 10],
    ])
    expect(await chunksOf((await blobs.put(SESSION, bytesOf(CHUNK_BYTES))).blob)).toEqual([[0, CHUNK_BYTES]])
    const empty = await blobs.put(SESSION, new Uint8Array(0))
    expect(await chunksOf(empty.blob)).toEqual([[0, 0]])
    expect((await blobs.get(SESSION, empty)).length).toBe(0)
  })

  it('writes a blob in one transaction: a failure half-way leaves none of its chunks', async () => {
    await sql`create function refuse_third_chunk() returns trigger language plpgsql as $$ begin if new.seq = 2 then raise exception 'disk full (injected)'; end if; return new; end $$`.execute(database.db)
    await sql`create trigger refuse_third_chunk before insert on blob_chunks for each row execute function refuse_third_chunk()`.execute(database.db)
    await expect(blobs.put(SESSION, bytesOf(3 * CHUNK_BYTES))).rejects.toThrow(/disk full \(injected\)/)
    expect(await storedBlobs(target, SESSION)).toEqual([])
    const small = await blobs.put(SESSION, bytesOf(2 * CHUNK_BYTES)) // two chunks: the trigger lets them in
    expect(await storedBlobs(target, SESSION)).toEqual([small.blob])
  })

  it('neither reads nor deletes the chunks of a quarantined blob', async () => {
    const ref = await blobs.put(SESSION, bytesOf(CHUNK_BYTES + 1))
    await database.db.updateTable('blob_chunks').set({quarantined_at: 1}).where('blob', '=', ref.blob).execute()
    expect(isMissingBlob(await expectFailure(blobs.get(SESSION, ref), /is missing/))).toBe(true)
    await blobs.delete(SESSION, ref.blob)
    await blobs.deleteSession(SESSION)
    expect(await chunksOf(ref.blob)).toHaveLength(2)
  })

  it('reads a blob back one chunk per query, never the whole blob in one', async () => {
    const rowsPerQuery: number[][] = []
    const counting = new PostgresBlobStore(
      database.db.withPlugin({
        transformQuery: ({node}) => node,
        transformResult: async ({result}) => {
          rowsPerQuery.push(result.rows.map((row) => (row.data instanceof Uint8Array ? row.data.length : 0)))
          return result
        },
      }),
    )
    const bytes = bytesOf(10 * CHUNK_BYTES + 3)
    const ref = await blobs.put(SESSION, bytes)
    expect(Buffer.from(await counting.get(SESSION, ref)).equals(Buffer.from(bytes))).toBe(true)
    expect(rowsPerQuery).toEqual([...Array.from({length: 10}, () => [CHUNK_BYTES]), [3], []])
  })

  it('keeps nothing of a session under the home of a store on PostgreSQL', async () => {
    await using store = await openStore(target.options)
    const original = new TextEncoder().encode('{"role":"user","text":"hello"}\n')
    const saved = await store.save({bytes: original, format: 'raw', name: 'shared'})
    await store.snapshot(saved.sessionId, {step: 1})
    await store.fork('shared', 'shared-fork')
    expect(Buffer.from((await store.restore('shared-fork')).bytes).equals(Buffer.from(original))).toBe(true)
    expect(JSON.parse(new TextDecoder().decode((await store.latestSnapshot('shared')).bytes))).toEqual({step: 1})
    expect(await storedBlobs(target, saved.sessionId)).toHaveLength(2)
    expect(existsSync(storeLayout(target.home).blobs)).toBe(false)
    expect(existsSync(storeLayout(target.home).contentLock)).toBe(false)
  })
})
