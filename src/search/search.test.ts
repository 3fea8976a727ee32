import {mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import fc from 'fast-check'
import {Migrator} from 'kysely/migration'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {CORPUS} from '../../test/helpers/cli.ts'
import {DIALECTS, runSql, type StoreTarget, storeTarget} from '../../test/helpers/dialects.ts'
import type {DialectName} from '../db/dialect.ts'
import {connectDatabase, type MetadataDatabase} from '../db/connect.ts'
import {migrationProvider} from '../db/migrations/index.ts'
import {InvalidInputError, NotFoundError, StorageError} from '../errors/index.ts'
import type {SessionRecord} from '../session/types.ts'
import {openStore} from '../store/open-store.ts'
import type {Store} from '../store/store.ts'
import {parseQuery} from './query.ts'
import type {IndexFilter, IndexHit} from './search-index.ts'
import {SqliteFts5Index} from './sqlite-fts5.ts'
import {foldWord, recordText, words} from './text.ts'

const message = (text: string, role = 'user'): SessionRecord => ({parts: [{text, type: 'text'}], role, type: 'message'})
const where = (hits: Array<{sessionId: string; seq: number}>) => hits.map((hit) => `${hit.sessionId}#${hit.seq}`).sort()

/** Every session file of the corpus (not the licences nor the provenance notes). */
function corpusFiles(directory = CORPUS): string[] {
  return readdirSync(directory, {withFileTypes: true}).flatMap((entry) => {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) return entry.name === 'LICENSES' ? [] : corpusFiles(path)
    return relative(CORPUS, path) === 'SOURCES.md' ? [] : [path]
  })
}

/**
 * What a plain scan of every stored record finds for `query`: the records whose text, split into
 * words and folded, holds each term's words in a row. (The query syntax is that of `parseQuery`.)
 */
async function scan(store: Store, query: string): Promise<string[]> {
  const terms = parseQuery(query).terms.map((term) => term.words.map(foldWord))
  const found: string[] = []
  for (const session of await store.list()) {
    for await (const {record, seq} of store.records(session.id)) {
      const folded = [...words(recordText(record))].map((w) => foldWord(w.word))
      const has = (term: string[]) => folded.some((_, i) => term.every((word, j) => folded[i + j] === word))
      if (terms.every(has)) found.push(`${session.id}#${seq}`)
    }
  }
  return found.sort()
}

/** What drops the search index's own table on each engine (FTS5's table on SQLite, the `tsvector` table on PostgreSQL). */
const DROP_INDEX: Record<DialectName, string> = {postgres: 'drop table search_docs', sqlite: 'drop table search_fts'}

describe.each(DIALECTS)('on %s', (dialect) => {
  describe('store.search over the corpus', () => {
    let target: StoreTarget
    let store: Store
    beforeAll(async () => {
      target = await storeTarget(dialect, 'sess-search-corpus-')
      store = await openStore(target.options)
      for (const path of corpusFiles()) await store.save({bytes: readFileSync(path), path})
    })
    afterAll(async () => {
      await store.close()
      await target.remove()
    })

    it.each([
      ['one word', 'session'],
      ['several words', 'run tests'],
      ['a phrase', '"the file"'],
      ['a tool name', 'Bash'],
      ['a tool name of two words', 'read_file'],
      ['a phrase and a word', '"run pytest" directory'],
    ])('finds the same records as a plain scan: %s (%s)', async (_, query) => {
      const expected = await scan(store, query)
      expect(expected.length).toBeGreaterThan(0)
      expect(where(await store.search(query, {limit: 0}))).toEqual(expected)
    })

    // SQLite only: the FTS5 index's search among its best-ranked candidates.
    if (dialect === 'sqlite') it('finds the hits of a limited search among the best matches: those ranking every match finds', async () => {
      await withIndex(store, async (db) => {
        const index = new SqliteFts5Index({minCandidates: 1, oversample: 3})
        const filters: IndexFilter[] = [{}, {kinds: ['agent']}, {includeTrashed: true}]
        let limited = 0
        let fallbacks = 0
        for (const query of ['the', 'session', 'run tests', '"the file"', 'Bash', 'file the', 'read_file']) {
          for (const filter of filters) {
            const all = await index.query(db.query, parseQuery(query), filter)
            for (const limit of [1, 3, 10]) {
              const before = db.fullQueries
              const hits = await index.query(db.query, parseQuery(query), {...filter, limit})
              expect(settled(hits), `${query} ${JSON.stringify(filter)} ${limit}`).toEqual(settled(all.slice(0, limit)))
              limited++
              fallbacks += db.fullQueries - before
            }
          }
        }
        // Most of them did not need every match ranked.
        expect(fallbacks).toBeLessThan(limited / 2)
      })
    })

    it('ignores case and diacritics', async () => {
      const plain = where(await store.search('session', {limit: 0}))
      expect(plain.length).toBeGreaterThan(0)
      expect(where(await store.search('SÉSSÏON', {limit: 0}))).toEqual(plain)
      expect(await scan(store, 'SÉSSÏON')).toEqual(plain)
    })

    it('names the session, kind and record of each hit, with a snippet holding the words', async () => {
      const [hit] = await store.search('Bash pytest', {limit: 1})
      const session = await store.get(hit!.sessionId)
      expect(hit).toMatchObject({kind: session.kind, name: session.name, rank: 1, role: null, tool: 'Bash', type: 'tool_call'})
      const record = (await Array.fromAsync(store.records(session.id, {after: hit!.seq - 1})))[0]!
      expect(record.seq).toBe(hit!.seq)
      expect(recordText(record.record)).toContain('pytest')
      const marked = hit!.highlights.map(([start, end]) => hit!.snippet.slice(start, end).toLowerCase())
      expect(marked).toEqual(expect.arrayContaining(['bash', 'pytest']))
    })

    it('never fails on hostile queries: they find something or nothing, or are refused as having no word', async () => {
      const operators = fc.constantFrom('"', '""', '-', '*', ':', '^', '(', ')', '+', 'AND', 'OR', 'NOT', 'NEAR', 'NEAR(', '{', '}', ',', '\0', '\\', "'", 'text:', '\uD800', '🙂', 'é', ' ')
      const hostile = fc.oneof(fc.string({unit: 'binary'}), fc.array(fc.oneof(operators, fc.string({maxLength: 3})), {maxLength: 12}).map((parts) => parts.join('')))
      await fc.assert(
        fc.asyncProperty(hostile, async (query) => {
          try {
            expect(Array.isArray(await store.search(query))).toBe(true)
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidInputError)
            expect([...words(query)]).toEqual([])
          }
        }),
        {numRuns: 300},
      )
    })
  })

  describe('store.search', () => {
    let target: StoreTarget
    let store: Store
    let clock = 1_700_000_000_000
    beforeAll(async () => {
      target = await storeTarget(dialect, 'sess-search-')
      store = await openStore({...target.options, now: () => clock})
    })
    afterAll(async () => {
      await store.close()
      await target.remove()
    })

    it('ranks records holding the whole query as a phrase first, then by relevance', async () => {
      const s = await store.create({kind: 'chat', name: 'ranking'})
      const scattered = await store.append(s.id, message('bug bug bug in the login form; login again, still a bug after login'))
      const exactShort = await store.append(s.id, message('a login bug'))
      const exactLong = await store.append(s.id, message('we found a login bug in the signup form of the old admin pages today'))
      await store.append(s.id, message('nothing to see'))
      const hits = await store.search('login bug', {session: 'ranking'})
      expect(hits.map((hit) => [hit.seq, hit.exact])).toEqual([
        [exactShort, true],
        [exactLong, true],
        [scattered, false],
      ])
      // The scattered record is the most relevant by bm25 alone: the phrase is what puts it last.
      expect(hits[2]!.score).toBeGreaterThan(hits[0]!.score)
      expect(hits.map((hit) => hit.rank)).toEqual([1, 2, 3])
    })

    // SQLite only: the FTS5 index's search among its best-ranked candidates.
    if (dialect === 'sqlite') it('ranks every match when a filter leaves too few of the best ones, or a phrase hit may be among the rest', async () => {
      const top = await store.create({kind: 'chat', name: 'fallback-top'})
      const rest = await store.create({kind: 'agent', name: 'fallback-rest'})
      for (let i = 0; i < 3; i++) await store.append(top.id, message('narwhal narwhal'))
      const long = [1, 2, 3].map((i) => `the narwhal swam ${'far away from the others '.repeat(i)}`)
      const expected: number[] = []
      for (const text of long) expected.push(await store.append(rest.id, message(text)))
      const scattered = await store.append(top.id, message('tusk tusk narwhal narwhal'))
      const phrase = await store.append(rest.id, message(`a narwhal tusk ${'and a long tale told about it '.repeat(4)}`))
      await withIndex(store, async (db) => {
        // Only the best two matches are looked at first: both of the chat session.
        const index = new SqliteFts5Index({minCandidates: 1, oversample: 1})
        const agents = await index.query(db.query, parseQuery('narwhal'), {kinds: ['agent'], limit: 2})
        expect(agents.map((hit) => [hit.sessionId, hit.seq])).toEqual(expected.slice(0, 2).map((seq) => [rest.id, seq]))
        expect(db.fullQueries).toBe(1)
        // The phrase hit ranks below the scattered one by bm25, yet comes first.
        const [first] = await index.query(db.query, parseQuery('narwhal tusk'), {limit: 1})
        expect(first).toMatchObject({exact: true, seq: phrase, sessionId: rest.id})
        expect(db.fullQueries).toBe(2)
        const both = await index.query(db.query, parseQuery('narwhal tusk'), {})
        expect(both.map((hit) => [hit.seq, hit.exact])).toEqual([
          [phrase, true],
          [scattered, false],
        ])
      })
    })

    it('finds an append as soon as it resolves, from this store and from another connection', async () => {
      const s = await store.create({kind: 'agent', name: 'live'})
      await store.append(s.id, {args: {command: 'make deploy-zeppelin'}, callId: 'c1', name: 'Bash', type: 'tool_call'})
      expect(where(await store.search('zeppelin'))).toEqual([`${s.id}#1`])
      await using other = await openStore(target.options)
      for (let i = 2; i <= 5; i++) {
        const seq = await store.append(s.id, message(`zeppelin step ${i}`))
        expect(where(await other.search(`zeppelin ${i}`))).toEqual([`${s.id}#${seq}`])
      }
    })

    it('filters by kind, activity, session and limit, and leaves the trash out unless asked', async () => {
      clock += 60_000
      const since = clock
      const a = await store.create({kind: 'chat', name: 'filter-a'})
      const b = await store.create({kind: 'agent', name: 'filter-b'})
      for (const s of [a, b]) for (let i = 0; i < 3; i++) await store.append(s.id, message(`walrus number ${i}`))
      expect((await store.search('walrus', {limit: 0})).length).toBe(6)
      expect(new Set((await store.search('walrus', {kind: 'chat'})).map((hit) => hit.name))).toEqual(new Set(['filter-a']))
      expect((await store.search('walrus', {kind: ['chat', 'agent']})).length).toBe(6)
      expect((await store.search('walrus', {session: 'filter-b'})).every((hit) => hit.sessionId === b.id)).toBe(true)
      expect((await store.search('walrus', {limit: 2})).length).toBe(2)
      expect((await store.search('walrus', {since})).length).toBe(6)
      expect(await store.search('walrus', {since: since + 1})).toEqual([])
      await expect(store.search('walrus', {session: 'nope'})).rejects.toBeInstanceOf(NotFoundError)
      await expect(store.search('walrus', {limit: -1})).rejects.toBeInstanceOf(InvalidInputError)
      await expect(store.search(' -*- ')).rejects.toBeInstanceOf(InvalidInputError)

      await store.remove('filter-a')
      expect(new Set((await store.search('walrus', {limit: 0})).map((hit) => hit.name))).toEqual(new Set(['filter-b']))
      expect((await store.search('walrus', {includeTrashed: true, limit: 0})).length).toBe(6)
      await store.remove(a.id, {purge: true})
      expect((await store.search('walrus', {includeTrashed: true, limit: 0})).length).toBe(3)
      expect(await runSql(target, 'select count(*) as n from search_docs where session_id = ?', a.id)).toEqual([{n: 0}])
    })

    it('indexes a fork, and a new saved version in place of the old one', async () => {
      const bytes = (text: string) => new TextEncoder().encode(`${JSON.stringify({sess: 1, session: {kind: 'chat', name: 'versions'}})}\n${JSON.stringify(message(text))}\n`)
      const saved = await store.save({bytes: bytes('the marmot sleeps'), format: 'sess', name: 'versions'})
      const fork = await store.fork('versions', 'versions-fork')
      expect(new Set((await store.search('marmot')).map((hit) => hit.name))).toEqual(new Set(['versions', 'versions-fork']))
      await store.save({bytes: bytes('the badger wakes'), format: 'sess', into: 'versions'})
      expect(where(await store.search('marmot'))).toEqual([`${fork.id}#1`])
      expect(where(await store.search('badger'))).toEqual([`${saved.sessionId}#1`])
    })

    it('indexes and finds words longer than a PostgreSQL lexeme, and records of more than a tsvector holds', async () => {
      const s = await store.create({kind: 'chat', name: 'long-words'})
      const long = `ab${'c'.repeat(3_000)}`
      const seq = await store.append(s.id, message(`before ${long} after`))
      expect(where(await store.search(long))).toEqual([`${s.id}#${seq}`])
      expect(where(await store.search(`before ${long} after`, {session: s.id}))).toEqual([`${s.id}#${seq}`])
      // 100,000 distinct words of four CJK characters: 1.2 MB of lexemes, found by their first words.
      const cjk = Array.from({length: 100_000}, (_, i) => [...i.toString(16).padStart(4, '0')].map((digit) => String.fromCodePoint(0x4e00 + Number.parseInt(digit, 16))).join(''))
      const wide = await store.append(s.id, message(cjk.join(' ')))
      expect(where(await store.search(cjk[1]!, {session: s.id}))).toEqual([`${s.id}#${wide}`])
    })
  })

  describe('the search migration', () => {
    let target: StoreTarget
    beforeEach(async () => {
      target = await storeTarget(dialect, 'sess-search-migration-')
    })
    afterEach(() => target.remove())

    it('indexes the records of a store made before it', async () => {
      const {home} = target
      mkdirSync(home, {mode: 0o700, recursive: true})
      const database = await connectDatabase(target.databaseUrl ?? join(home, 'sess.db'))
      const {error} = await new Migrator({db: database.db, provider: migrationProvider}).migrateTo('2026-11-21T03-cleanup')
      expect(error).toBeUndefined()
      await database.db.insertInto('sessions').values({created_at: 1, id: '01JD3F6Q8W0000000000000000', kind: 'chat', last_activity_at: 1, name: 'old', record_count: 2, status: 'completed'} as never).execute()
      await database.db
        .insertInto('records')
        .values([message('an ocelot in an old store'), message('nothing here')].map((record, i) => ({body: JSON.stringify(record), seq: i + 1, session_id: '01JD3F6Q8W0000000000000000', ts: null, type: 'message'})))
        .execute()
      await database.destroy()
      await using store = await openStore(target.options)
      expect(where(await store.search('ocelot'))).toEqual(['01JD3F6Q8W0000000000000000#1'])
      expect((await store.doctor({checksums: false})).findings).toEqual([])
    })
  })

  describe('a damaged search index', () => {
    let target: StoreTarget
    beforeEach(async () => {
      target = await storeTarget(dialect, 'sess-search-damaged-')
    })
    afterEach(() => target.remove())

    it('fails a search with a StorageError naming the fix, and appends with it: nothing is written', async () => {
      await using store = await openStore(target.options)
      const s = await store.create({name: 'damaged'})
      await store.append(s.id, message('before'))
      await runSql(target, DROP_INDEX[dialect])
      const failure = await store.search('before').catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StorageError)
      expect((failure as StorageError).hint).toMatch(/sess doctor --fix/)
      await expect(store.append(s.id, message('after'))).rejects.toBeInstanceOf(StorageError)
      expect((await store.get(s.id)).recordCount).toBe(1)
      const report = await store.doctor({checksums: false, fix: true})
      expect(report.findings.map((f) => [f.kind, f.fixed])).toEqual([['search-index', true]])
      expect(where(await store.search('before'))).toEqual([`${s.id}#1`])
    })
  })
})

/**
 * Runs `body` with a connection of its own to the store's database, counting the queries run and
 * those of them that rank every match (`order by exact desc`).
 */
async function withIndex(store: Store, body: (db: {query: MetadataDatabase['db']; queries: number; fullQueries: number}) => Promise<void>): Promise<void> {
  const database = await connectDatabase(join(store.home, 'sess.db'))
  const counts = {fullQueries: 0, queries: 0}
  const query = database.db.withPlugin({
    transformQuery: ({node}) => {
      counts.queries++
      if (JSON.stringify(node).includes('order by exact desc')) counts.fullQueries++
      return node
    },
    transformResult: async ({result}) => result,
  })
  try {
    await body(Object.assign(counts, {query}))
  } finally {
    await database.destroy()
  }
}

/**
 * `hits` in a form that two rankings of the same matches share: their order of exactness and
 * score, and which records they are, but for the last ones of equal rank (which of the records
 * tied with them make the cut is arbitrary).
 */
function settled(hits: IndexHit[]): {ranks: Array<[boolean, number]>; records: string[]} {
  const last = hits.at(-1)
  const tied = (hit: IndexHit) => hit.exact === last?.exact && hit.score === last?.score
  return {ranks: hits.map((hit) => [hit.exact, hit.score]), records: where(hits.filter((hit) => !tied(hit)))}
}
