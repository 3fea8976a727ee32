/**
 * `sess search` through the real CLI, over the corpus, on both database engines: the human and
 * --json output, filters, exit codes, the trash, and a damaged search index found by `sess
 * doctor` and rebuilt by `--fix`.
 */
import {Database} from 'bun:sqlite'
import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {DoctorReport} from '../plugins/cleanup/src/doctor.ts'
import type {DialectName} from '../src/db/dialect.ts'
import type {SearchHit} from '../src/search/search.ts'
import {type CliResult, CORPUS, sess as sessIn, sessJson as sessJsonIn} from './helpers/cli.ts'
import {DIALECTS, runSql, type StoreTarget, storeTarget} from './helpers/dialects.ts'
import {copyStore} from './helpers/store-content.ts'

const HIT_KEYS = ['rank', 'sessionId', 'name', 'kind', 'seq', 'type', 'role', 'tool', 'ts', 'snippet', 'highlights', 'score', 'exact']

/** Damage to the index, per engine: what is done to a copy of the store, and whether a search then fails (otherwise only doctor notices). */
const DAMAGE: Record<DialectName, [string, (copy: StoreTarget) => Promise<unknown>, boolean][]> = {
  postgres: [
    ['its table dropped', (copy) => runSql(copy, 'drop table search_docs'), true],
    ['entries deleted', (copy) => runSql(copy, 'delete from search_docs where seq % 4 = 0'), false],
  ],
  sqlite: [
    ['the FTS table dropped', onSqlite((db) => db.run('drop table search_fts')), true],
    ['rows of the index deleted', onSqlite((db) => db.run('delete from search_fts where rowid % 3 = 0')), false],
    ['entries deleted', onSqlite((db) => db.run('delete from search_docs where id % 4 = 0')), false],
    ['the index\'s stored blocks damaged on disk', onSqlite(corruptIndexBlock), true],
  ],
}

describe.each(DIALECTS)('sess search on %s', (dialect) => {
  let target: StoreTarget
  let home: string
  /** The CLI on the store of `target` (or of a copy of it). */
  const sess = (where: string, args: string[], options: Parameters<typeof sessIn>[2] = {}): CliResult => sessIn(where, args, {...options, env: {...target.env, ...options.env, SESS_HOME: where}})
  const sessJson = <T>(where: string, args: string[], options: Parameters<typeof sessIn>[2] = {}) => sessJsonIn<T>(where, args, {...options, env: {...target.env, ...options.env, SESS_HOME: where}})
  const names = (where: string, args: string[]) => sessJson<SearchHit[]>(where, args).json.map((hit) => hit.name)
  beforeAll(async () => {
    target = await storeTarget(dialect, 'sess-search-cli-')
    home = target.home
    const saved = sess(home, ['save', CORPUS])
    expect(saved.code, saved.stderr).toBe(0)
  })
  afterAll(() => target.remove())

  it('prints each hit: session, kind, record number and the snippet; only the snippet marked, and only on a terminal', () => {
    const plain = sess(home, ['search', 'tests', '--limit', '3'])
    expect(plain.code).toBe(0)
    const lines = plain.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(6)
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/^\S+ {2}\S+ {2}#\d+ {2}\S.*$/)
      expect(lines[i + 1]!.toLowerCase()).toMatch(/^ {4}.*\btests\b/)
    }
    expect(plain.stdout).not.toContain('\u001B[')
    expect(plain.stderr).toContain('The first 3 hits')
    const coloured = sess(home, ['search', 'pytest', '--limit', '1'], {env: {FORCE_COLOR: '1', NO_COLOR: ''}})
    expect(coloured.stdout).toMatch(/\u001B\[1m\u001B\[31mpytest\u001B\[39m\u001B\[22m/i)
  })

  it('--json prints the documented hits, which point at the records sess show prints', () => {
    const {code, json} = sessJson<SearchHit[]>(home, ['search', 'Bash', '--limit', '0'])
    expect(code).toBe(0)
    expect(json.length).toBeGreaterThan(3)
    for (const [i, hit] of json.entries()) {
      expect(Object.keys(hit)).toEqual(HIT_KEYS)
      expect(hit.rank).toBe(i + 1)
      for (const [start, end] of hit.highlights) expect(hit.snippet.slice(start, end).toLowerCase()).toBe('bash')
    }
    expect(json.some((hit) => hit.type === 'tool_call' && hit.tool === 'Bash')).toBe(true)
    const hit = json[0]!
    const show = sess(home, ['show', hit.name, '--from', String(hit.seq), '--records', '1'])
    expect(show.stdout).toMatch(new RegExp(`\\n\\s+${hit.seq}  .*bash`, 'i'))
  })

  it('filters by session, kind, activity and limit', () => {
    const all = sessJson<SearchHit[]>(home, ['search', 'the', '--limit', '0']).json
    const {kind, name} = all.at(-1)!
    expect(new Set(sessJson<SearchHit[]>(home, ['search', 'the', '--limit', '0', '--session', name]).json.map((h) => h.name))).toEqual(new Set([name]))
    const ofKind = sessJson<SearchHit[]>(home, ['search', 'the', '--limit', '0', '--kind', kind]).json
    expect(ofKind.length).toBe(all.filter((h) => h.kind === kind).length)
    expect(sessJson<SearchHit[]>(home, ['search', 'the', '--limit', '2']).json).toHaveLength(2)
    expect(sessJson<SearchHit[]>(home, ['search', 'the', '--since', '2999-01-01']).json).toEqual([])
  })

  it('exits 0 with nothing found, 2 for a query without a word, 4 for an unknown session', () => {
    expect(sessJson(home, ['search', 'xylophone-quasar'])).toMatchObject({code: 0, json: []})
    const none = sess(home, ['search', 'xylophone-quasar'])
    expect([none.code, none.stdout, none.stderr.trim()]).toEqual([0, '', 'No matches.'])
    const wordless = sess(home, ['search', '--', '-(*)-'])
    expect(wordless.code).toBe(2)
    expect(wordless.stderr).toMatch(/has no word to search for/)
    expect(sess(home, ['search', 'the', '--session', 'no-such-session']).code).toBe(4)
  })

  it('leaves sessions in the trash out unless --trash, and forgets purged ones', () => {
    const [hit] = sessJson<SearchHit[]>(home, ['search', '"run pytest"', '--limit', '1']).json
    expect(sess(home, ['rm', hit!.name]).code).toBe(0)
    expect(names(home, ['search', '"run pytest"', '--limit', '0'])).not.toContain(hit!.name)
    expect(names(home, ['search', '"run pytest"', '--limit', '0', '--trash'])).toContain(hit!.name)
    expect(sess(home, ['rm', hit!.sessionId, '--purge']).code).toBe(0)
    expect(names(home, ['search', '"run pytest"', '--limit', '0', '--trash'])).not.toContain(hit!.name)
  })

  describe.each(DAMAGE[dialect])('a search index with %s', (_, damage, searchFails) => {
    let store: StoreTarget | undefined
    afterAll(() => store?.remove())
    it('is found by sess doctor (exit 1) and rebuilt by sess doctor --fix', async () => {
      store = await copyStore(target)
      const copy = store.home
      const env = store.env
      const sess = (where: string, args: string[]) => sessIn(where, args, {env})
      const sessJson = <T>(where: string, args: string[]) => sessJsonIn<T>(where, args, {env})
      const before = sessJson<SearchHit[]>(copy, ['search', 'file', '--limit', '0']).json
      await damage(store)
      const failed = sess(copy, ['search', 'file'])
      if (searchFails) {
        expect(failed.code).toBe(1)
        expect(failed.stderr).toMatch(/Error: The search index cannot be used.*\nHint: .*sess doctor --fix/)
      }
      const found = sessJson<DoctorReport>(copy, ['doctor', '--no-checksums'])
      expect(found.code).toBe(1)
      expect(found.json.findings.map((f) => f.kind)).toEqual(['search-index'])
      const fixed = sessJson<DoctorReport>(copy, ['doctor', '--fix'])
      expect([fixed.code, fixed.json.findings.map((f) => [f.kind, f.fixed])]).toEqual([0, [['search-index', true]]])
      expect(sess(copy, ['doctor']).code).toBe(0)
      expect(sessJson<SearchHit[]>(copy, ['search', 'file', '--limit', '0']).json).toEqual(before)
    })
  })
})

/** `damage` done on the SQLite database of a copy of the store. */
function onSqlite(damage: (db: Database) => void): (copy: StoreTarget) => Promise<void> {
  return async (copy) => {
    const db = new Database(join(copy.home, 'sess.db'))
    try {
      damage(db)
    } finally {
      db.close()
    }
  }
}

/**
 * Damages the FTS index as bit rot would: overwrites bytes inside one of its stored blocks (a
 * row of its `_data` shadow table) in the database file, after a checkpoint. (SQLite's defensive
 * mode, on in bun:sqlite, refuses SQL writes to shadow tables.)
 */
function corruptIndexBlock(db: Database): void {
  db.run('pragma wal_checkpoint(truncate)')
  const row = db.query('select block from search_fts_data where length(block) between 64 and 1000 order by length(block) desc limit 1').get() as {block: Uint8Array}
  const path = db.filename
  const at = readFileSync(path).indexOf(Buffer.from(row.block))
  expect(at).toBeGreaterThan(0)
  const fd = openSync(path, 'r+')
  try {
    writeSync(fd, Buffer.alloc(32, 0xff), 0, 32, at + 16)
  } finally {
    closeSync(fd)
  }
}
