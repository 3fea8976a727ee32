import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, expect, test} from 'vitest'
import {openSqlite} from './sqlite.ts'

let dir: string | undefined
afterEach(() => {
  if (dir !== undefined) rmSync(dir, {force: true, recursive: true})
})

/** A process holding the write lock of the rollback-mode database at `path` for `holdMs`, then committing one row. */
function writerHolding(path: string, holdMs: number) {
  const script = `
    import {Database} from 'bun:sqlite'
    const db = new Database(${JSON.stringify(path)})
    db.run('create table t (x)')
    db.run('begin immediate')
    db.run('insert into t values (1)')
    process.stdout.write('holding\\n')
    await Bun.sleep(${holdMs})
    db.run('commit')
    db.close()`
  return Bun.spawn([process.execPath, '-e', script], {stderr: 'inherit', stdout: 'pipe'})
}

test('a new database another process is writing to is switched to WAL once that write ends, not refused as locked', async () => {
  dir = mkdtempSync(join(tmpdir(), 'sess-sqlite-'))
  const path = join(dir, 'sess.db')
  const writer = writerHolding(path, 300)
  const reader = writer.stdout.getReader()
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('holding\n')
  // SQLite answers `PRAGMA journal_mode = WAL` here with SQLITE_BUSY at once, busy_timeout or not.
  const database = openSqlite(path)
  try {
    expect(database.query('pragma journal_mode').get()).toEqual({journal_mode: 'wal'})
    expect(database.query('select x from t').all()).toEqual([{x: 1}])
  } finally {
    database.close()
  }
  expect(await writer.exited).toBe(0)
})
