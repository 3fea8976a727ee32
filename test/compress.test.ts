/**
 * Compression of idle sessions through the CLI: every corpus file through save → `sess gc` →
 * `sess restore`, byte for byte and actually compressed on disk; a damaged compressed blob
 * reported by restore and doctor; and `sess gc` killed (SIGKILL) at random points while it
 * compresses many sessions, after which nothing is lost and doctor and the next gc finish the job.
 */
import {Database} from 'bun:sqlite'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {CODEC_MAGIC, encode} from '../plugins/persistence/src/blobs/codec.ts'
import {openStore} from '../src/index.ts'
import {CORPUS, REPO, sess, sessJson, tempDir, useTempDir} from './helpers/cli.ts'
import {sha256Hex} from './helpers/crash-child.ts'

interface GcJson {
  items: {action: string; type: string; name: string | null; path: string | null; reason: string; bytes: number; bytesAfter?: number | null}[]
  skipped: {item: {name: string | null; action: string}; reason: string}[]
  compressed: {blobs: number; bytes: number; storedBytes: number}
}

interface DoctorJson {
  clean: boolean
  findings: {kind: string; path: string | null; message: string; fixed: boolean}[]
}

const isZstd = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, CODEC_MAGIC.zstd.length)).equals(CODEC_MAGIC.zstd)

function walk(directory: string): string[] {
  return readdirSync(directory, {withFileTypes: true}).flatMap((entry) => (entry.isDirectory() ? walk(join(directory, entry.name)) : [join(directory, entry.name)]))
}

/** The corpus's session files (not its licences and provenance notes). */
const CORPUS_FILES = walk(CORPUS)
  .filter((path) => !relative(CORPUS, path).startsWith('LICENSES/') && relative(CORPUS, path) !== 'SOURCES.md')
  .sort()

/** Runs the CLI without blocking the worker, so that independent runs overlap. */
async function sessAsync(home: string, args: string[]): Promise<{code: number; stdout: Uint8Array; stderr: string}> {
  const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), ...args], {cwd: REPO, env: {...process.env, NO_COLOR: '1', SESS_HOME: home}, stderr: 'pipe', stdin: 'ignore', stdout: 'pipe'})
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited])
  return {code, stderr, stdout: new Uint8Array(stdout)}
}

describe('every corpus file through save, sess gc and sess restore', () => {
  const dir = useTempDir('sess-compress-corpus-')
  const names = new Map<string, string>()
  let home: string
  let gc: GcJson

  beforeAll(async () => {
    home = join(dir.path, 'store')
    {
      await using store = await openStore({home})
      for (const path of CORPUS_FILES) names.set(path, (await store.save({bytes: readFileSync(path), path})).name)
    }
    const result = sessJson<GcJson>(home, ['gc', '--compress-after', '0'])
    expect(result.code).toBe(0)
    gc = result.json
  })

  it('compresses each blob that zstd shrinks (smaller, with the zstd magic bytes) and keeps the others as they are', () => {
    const byName = new Map(gc.items.filter((item) => item.action === 'compress').map((item) => [item.name, item]))
    const asIs = new Map(gc.skipped.map(({item, reason}) => [item.name, reason]))
    for (const path of CORPUS_FILES) {
      const bytes = readFileSync(path)
      const item = byName.get(names.get(path)!)
      if (encode('zstd', bytes).length >= bytes.length) {
        expect(item, path).toBeUndefined()
        expect(asIs.get(names.get(path)!), path).toMatch(/^compression would not shrink it/)
        continue
      }
      expect(item, path).toBeDefined()
      const stored = readFileSync(item!.path!)
      expect(item!.bytes).toBe(bytes.length)
      expect(stored.length).toBe(item!.bytesAfter)
      expect(stored.length).toBeLessThan(bytes.length)
      expect(isZstd(stored), path).toBe(true)
    }
    expect(byName.size).toBeGreaterThan(CORPUS_FILES.length / 2)
    expect(gc.compressed.blobs).toBe(byName.size)
    const stats = sessJson<{blobs: {count: number; compressed: number; bytes: number; storedBytes: number}}>(home, ['stats'])
    expect(stats.json.blobs.count).toBe(CORPUS_FILES.length)
    expect(stats.json.blobs.compressed).toBe(byName.size)
    expect(stats.json.blobs.bytes).toBe(CORPUS_FILES.reduce((sum, path) => sum + readFileSync(path).length, 0))
    expect(stats.json.blobs.bytes - stats.json.blobs.storedBytes).toBe(gc.compressed.bytes - gc.compressed.storedBytes)
  })

  it('restore gives back every file byte for byte (sess restore for one file of each format), and doctor finds nothing', async () => {
    {
      await using store = await openStore({home})
      for (const path of CORPUS_FILES) expect(Buffer.from((await store.restore(names.get(path)!)).bytes).equals(readFileSync(path)), path).toBe(true)
    }
    const oneOfEach = [...new Map(CORPUS_FILES.map((path) => [relative(CORPUS, path).split('/')[0], path])).values()]
    const results = await Promise.all(oneOfEach.map((path) => sessAsync(home, ['restore', names.get(path)!])))
    for (const [index, result] of results.entries()) {
      expect(result.code, result.stderr).toBe(0)
      expect(Buffer.from(result.stdout).equals(readFileSync(oneOfEach[index]!)), oneOfEach[index]).toBe(true)
    }
    expect(sess(home, ['doctor']).code).toBe(0)
  }, 30_000)

  it('a flipped byte in a compressed blob: restore says it is damaged (exit 1), doctor reports it', () => {
    const item = gc.items.find((i) => i.action === 'compress')!
    const bytes = readFileSync(item.path!)
    bytes[bytes.length - 2]! ^= 0x20
    writeFileSync(item.path!, bytes)
    const restored = sess(home, ['restore', item.name!])
    expect(restored.code).toBe(1)
    expect(restored.stderr).toMatch(/^Error: Content of .* is damaged: SHA-256 [0-9a-f]{64} \(\d+ bytes\) \(zstd\), expected/m)
    expect(restored.stderr).toMatch(/^Hint: The stored copy no longer matches what was saved/m)
    expect(restored.stderr).not.toMatch(/ at /) // no stack trace
    const doctor = sessJson<DoctorJson>(home, ['doctor'])
    expect(doctor.code).toBe(1)
    expect(doctor.json.findings.map((f) => [f.kind, f.path])).toEqual([['checksum-mismatch', item.path]])
  })
})

describe('sess gc killed (SIGKILL) while it compresses', () => {
  it('loses nothing: every session restores byte-identically after each kill, doctor --fix leaves a clean store, and the next gc finishes the job', async () => {
    const dir = tempDir('sess-compress-kill-')
    try {
      const home = join(dir.path, 'store')
      const originals = new Map<string, Uint8Array>()
      const snapshots = new Map<string, Uint8Array>()
      {
        await using store = await openStore({home})
        for (let n = 0; n < 600; n++) {
          let text = ''
          for (let line = 0; line < 20 + (n % 60); line++) text += `${JSON.stringify({line, n, text: `line ${line} of session ${n} `.repeat(3)})}\n`
          const bytes = new TextEncoder().encode(text)
          const saved = await store.save({bytes, format: 'raw', name: `s${n}`})
          originals.set(saved.sessionId, bytes)
          if (n % 2 === 0) {
            const state = {n, notes: 'snapshot state '.repeat(40 + (n % 30))}
            await store.snapshot(saved.sessionId, state)
            snapshots.set(saved.sessionId, new TextEncoder().encode(JSON.stringify(state)))
          }
        }
      }
      const total = originals.size + snapshots.size
      const compressedRows = (db: Database) => (db.query('select (select count(*) from versions where codec is not null) + (select count(*) from snapshots where codec is not null) as n').get() as {n: number}).n

      const checkNothingLost = async () => {
        await using store = await openStore({home})
        for (const [id, bytes] of originals) expect(sha256Hex((await store.restore(id)).bytes)).toBe(sha256Hex(bytes))
        for (const [id, bytes] of snapshots) expect(sha256Hex((await store.latestSnapshot(id)).bytes)).toBe(sha256Hex(bytes))
      }

      let midway = 0
      let littered = 0 // kills that left a new file not yet named, or an old one no longer named
      // The longest random wait before a kill, ms: halved whenever gc committed another batch
      // within it, so that on a fast disk too the kills land inside the run, not after it.
      let maxWait = 150
      for (let round = 1; round <= 12 && midway < 4; round++) {
        const db = new Database(join(home, 'sess.db'), {readonly: true})
        const before = compressedRows(db)
        const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'gc', '--compress-after', '0', '--json'], {env: {...process.env, NO_COLOR: '1', SESS_HOME: home}, stderr: 'pipe', stdout: 'pipe'})
        // Killed at a random instant after its first batch of this run committed: amid the next
        // batch's new files, between a commit and the deletion of the old files, or later.
        let exited = false
        void child.exited.then(() => (exited = true))
        while (!exited && compressedRows(db) === before) await Bun.sleep(5)
        const first = compressedRows(db)
        await Bun.sleep(Math.floor(Math.random() * maxWait))
        child.kill('SIGKILL')
        await child.exited
        const after = compressedRows(db)
        if (after > first) maxWait = Math.max(10, maxWait / 2)
        db.close()
        if (after > before && after < total) midway++

        await checkNothingLost()
        const found = sessJson<DoctorJson>(home, ['doctor'])
        for (const finding of found.json.findings) expect(['orphan-content', 'temp-file'], finding.message).toContain(finding.kind)
        if (found.json.findings.length > 0) littered++
        const fixed = sessJson<DoctorJson>(home, ['doctor', '--fix'])
        expect(fixed.code, JSON.stringify(fixed.json.findings)).toBe(0)
        expect(sess(home, ['doctor']).code).toBe(0)
        await checkNothingLost()
      }
      expect(midway).toBeGreaterThanOrEqual(3)
      expect(littered).toBeGreaterThan(0)

      const last = sessJson<GcJson>(home, ['gc', '--compress-after', '0'])
      expect(last.code).toBe(0)
      const stats = sessJson<{blobs: {count: number; compressed: number}}>(home, ['stats']).json.blobs
      expect(stats).toEqual({...stats, compressed: total, count: total})
      expect(sess(home, ['doctor']).code).toBe(0)
      await checkNothingLost()
    } finally {
      dir.remove()
    }
  }, 180_000)
})
