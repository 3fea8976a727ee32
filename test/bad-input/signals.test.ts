/**
 * SIGINT and SIGTERM in the middle of `sess save` of a large directory (DESIGN §7): sess stops
 * between two files, closes the store, says what it did, and exits 130 / 143 as the shells report
 * those signals. Every session it reported is saved whole and restores byte for byte, nothing else
 * was saved, no temp file or orphan is left, and no lock is held.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, test} from 'vitest'
import {openStore} from '../../src/index.ts'
import {REPO, sess as run, sessJson as runJson, useTempDir} from '../helpers/cli.ts'
import {tempFiles} from '../helpers/store-files.ts'

/** Files in the directory: far more than are saved before the signal. */
const FILES = 1000
/** Sessions saved (and printed) before the signal is sent. */
const BEFORE_SIGNAL = 10

/** A directory of {@link FILES} distinct sess JSONL sessions. */
function sessionFiles(root: string): string {
  mkdirSync(root)
  for (let n = 0; n < FILES; n++) {
    const header = JSON.stringify({sess: 1, session: {kind: 'chat', name: `s-${n}`}})
    const records = Array.from({length: 20}, (_, i) => JSON.stringify({type: 'message', role: i % 2 ? 'assistant' : 'user', parts: [{type: 'text', text: `file ${n}, message ${i}`}]}))
    writeFileSync(join(root, `s-${String(n).padStart(4, '0')}.jsonl`), `${[header, ...records].join('\n')}\n`)
  }
  return root
}

describe('a signal in the middle of saving a large directory', () => {
  const dir = useTempDir('sess-save-signal-')

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: stops between two files, exits %i; what it reported is saved whole, nothing else; no temp file, orphan or held lock', async (signal, status) => {
    const home = join(dir.path, signal)
    const files = sessionFiles(join(dir.path, `files-${signal}`))
    const child = Bun.spawn([process.execPath, join(REPO, 'bin', 'run.ts'), 'save', files], {
      env: {...process.env, NO_COLOR: '1', SESS_HOME: home, XDG_DATA_HOME: join(dir.path, 'xdg')},
      stderr: 'pipe',
      stdout: 'pipe',
    })
    const reader = child.stdout.getReader()
    let out = ''
    while ((out.match(/^saved /gm) ?? []).length < BEFORE_SIGNAL) {
      const {done, value} = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    child.kill(signal)
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    expect(await child.exited).toBe(status)
    const stderr = await new Response(child.stderr).text()
    const reported = [...out.matchAll(/^saved +(\S+) +sess +\d+ records +([0-9A-Z]{26}) +(\S+)$/gm)].map(([, name, id, path]) => ({id: id!, name: name!, path: path!}))
    expect(reported.length).toBeGreaterThanOrEqual(BEFORE_SIGNAL)
    expect(reported.length).toBeLessThan(FILES)
    expect(stderr).toContain(`Interrupted (${signal}): ${reported.length} saved or unchanged and 0 skipped before it; nothing else was read.`)
    {
      await using store = await openStore({home})
      const sessions = await store.list()
      expect(sessions.map((session) => session.id).sort()).toEqual(reported.map((entry) => entry.id).sort())
      for (const entry of reported) {
        const {bytes} = await store.restore(entry.id)
        expect(Buffer.from(bytes).equals(readFileSync(entry.path)), entry.path).toBe(true)
        expect((await store.get(entry.id)).recordCount).toBe(20)
      }
      expect(await store.locks()).toEqual([])
    }
    expect(tempFiles(home)).toEqual([])
    expect(run(home, ['doctor']).code).toBe(0)
    // The gc lock and the content lock are free: a gc runs at once (it takes both without waiting).
    expect(runJson<{items: unknown[]}>(home, ['gc', '--compress-after', 'off']).code).toBe(0)
  })
})
