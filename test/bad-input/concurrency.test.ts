/**
 * A brand-new store opened by 8 processes at once (DESIGN §2: every command migrates on first
 * use): all of them succeed, none sees SQLITE_BUSY, and the store ends with one schema (each
 * migration applied once) and every process's session.
 */
import {Database} from 'bun:sqlite'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, test} from 'vitest'
import {MIGRATIONS} from '../../src/db/migrations/index.ts'
import type {Session} from '../../src/session/types.ts'
import {sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'

const OPEN_CHILD = fileURLToPath(new URL('../helpers/open-child.ts', import.meta.url))
const OPENERS = 8

/** Reads `stream` until it has printed `count` lines; returns them. */
async function lines(stream: ReadableStream<Uint8Array>, count: number): Promise<string[]> {
  const reader = stream.getReader()
  let text = ''
  while (text.split('\n').length <= count) {
    const {done, value} = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return text.split('\n').slice(0, count)
}

describe('a brand-new store opened by 8 processes at once', () => {
  const dir = useTempDir('sess-first-open-')

  test('every process opens it and saves, none meets SQLITE_BUSY; one schema, every session there (two rounds)', async () => {
    for (const round of [1, 2]) await openAtOnce(join(dir.path, `home-${round}`))
  })

  async function openAtOnce(home: string): Promise<void> {
    const children = Array.from({length: OPENERS}, (_, n) => Bun.spawn([process.execPath, OPEN_CHILD, home, String(n)], {stderr: 'pipe', stdin: 'pipe', stdout: 'pipe'}))
    // Every child has loaded its modules before any of them starts.
    expect(await Promise.all(children.map((child) => lines(child.stdout, 1)))).toEqual(Array.from({length: OPENERS}, () => ['ready']))
    for (const child of children) child.stdin.write('go\n')
    for (const child of children) await child.stdin.end()
    const outcomes = await Promise.all(children.map(async (child) => ({code: await child.exited, out: (await lines(child.stdout, 1))[0], stderr: await new Response(child.stderr).text()})))
    for (const outcome of outcomes) {
      expect(outcome.out, outcome.stderr).toMatch(/^saved [0-9A-Z]{26}$/)
      expect(outcome.code).toBe(0)
    }
    const db = new Database(join(home, 'sess.db'), {readonly: true})
    try {
      const applied = db.query('select name from kysely_migration order by name').all() as {name: string}[]
      expect(applied.map((row) => row.name)).toEqual(Object.keys(MIGRATIONS).sort())
      expect(db.query('pragma quick_check').get()).toEqual({quick_check: 'ok'})
    } finally {
      db.close()
    }
    const listed = runJson<Session[]>(home, ['list', '--limit', '0'])
    expect(listed.json.map((session) => session.name).sort()).toEqual(Array.from({length: OPENERS}, (_, n) => `opener-${n}`).sort())
    expect(run(home, ['doctor']).code).toBe(0)
  }
})
