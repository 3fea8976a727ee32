/**
 * The redact plugin through the real CLI: off by default (bytes saved as given); with `sess config
 * set redact.enabled true`, `sess save` stores masked bytes, reports counts by rule (human and
 * `--json`), `sess restore` shows `[REDACTED:<rule>]`, `sess record` stores and replays what it
 * records masked, and no credential is anywhere in the store's bytes (database, WAL, blobs). Every corpus file with credentials injected into its message
 * text still saves as its format, with the same records, and restores masked and well-formed.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import type {Session} from '../src/session/types.ts'
import {oneOfEachRule, secretsIn} from '../plugins/redact/src/testing.ts'
import {openStore} from '../src/store/open-store.ts'
import {CORPUS, REPO, sess as run, sessJson as runJson, useTempDir} from './helpers/cli.ts'

const SAMPLES = oneOfEachRule(2026)
const ONE_EACH = Object.fromEntries(SAMPLES.map((s) => [s.rule, 1]))
const RULE_NAMES = SAMPLES.map((s) => s.rule)

/** Every file under `root`, recursively. */
function filesUnder(root: string): string[] {
  return readdirSync(root, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
}

/**
 * `text` with `insert` (JSON-escaped) at the start of its first message text: a `"text"` or
 * `"content"` string of a transcript, or an asciicast `"o"` event's data.
 */
function injectIntoFirstMessage(text: string, insert: string): string {
  const anchor = /"(?:text|content)": ?"|"o", ?"/.exec(text)
  if (!anchor) throw new Error('no message text to inject into')
  const at = anchor.index + anchor[0].length
  return text.slice(0, at) + JSON.stringify(insert).slice(1, -1) + text.slice(at)
}

const TRANSCRIPT = readFileSync(join(REPO, 'test', 'fixtures', 'sessions', 'hello-claude.jsonl'), 'utf8')
const WITH_SECRETS = injectIntoFirstMessage(TRANSCRIPT, `${SAMPLES.map((s) => s.text).join('\n')}\n`)
const MASKED = injectIntoFirstMessage(TRANSCRIPT, `${SAMPLES.map((s) => s.masked).join('\n')}\n`)

describe('sess save with the redact plugin', () => {
  const dir = useTempDir('sess-redact-cli-')
  const file = join(dir.path, 'secrets.jsonl')
  beforeAll(() => writeFileSync(file, WITH_SECRETS))

  test('off by default: the bytes are stored unchanged, and nothing is reported as redacted', () => {
    const home = join(dir.path, 'off')
    expect(run(home, ['config', 'get', 'redact.enabled']).code).toBe(4)
    const saved = runJson<SaveReport>(home, ['save', file, '--name', 'plain'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.json.saved[0]).toMatchObject({created: true, redacted: {}})
    expect(run(home, ['restore', 'plain']).stdout).toBe(WITH_SECRETS)
    expect(secretsIn(home, SAMPLES)).toEqual(RULE_NAMES)
  })

  test('with redact.enabled true, save stores masked bytes and reports counts by rule; restore shows the placeholders; the store holds no credential', () => {
    const home = join(dir.path, 'on')
    const set = run(home, ['config', 'set', 'redact.enabled', 'true'])
    expect(set.code, set.stderr).toBe(0)
    expect(run(home, ['config', 'get', 'redact.enabled']).stdout.trim()).toBe('true')
    expect(run(home, ['config', 'set', 'redact.enabled', 'maybe']).code).toBe(2)
    expect(run(home, ['config', 'set', 'redact.nothing', 'true']).code).toBe(2)

    const human = run(home, ['save', file, '--name', 'masked'])
    expect(human.code, human.stderr).toBe(0)
    const line = human.stdout.split('\n').find((l) => l.trim().startsWith('redacted:'))
    expect(line?.trim().replace('redacted: ', '').split(', ').sort()).toEqual(RULE_NAMES.map((rule) => `1 ${rule}`).sort())

    const again = runJson<SaveReport>(home, ['save', file])
    expect(again.code, again.stderr).toBe(0)
    expect(again.json.saved[0]).toMatchObject({name: 'masked', redacted: ONE_EACH, unchanged: true})

    const restored = run(home, ['restore', 'masked'])
    expect(restored.code, restored.stderr).toBe(0)
    expect(restored.stdout).toBe(MASKED)
    for (const rule of RULE_NAMES) expect(restored.stdout).toContain(`[REDACTED:${rule}]`)
    expect(secretsIn(home, SAMPLES)).toEqual([])
  })
})

describe('sess record with the redact plugin', () => {
  const dir = useTempDir('sess-redact-record-')
  const file = join(dir.path, 'deploy.log')
  const text = `${SAMPLES.map((s) => s.text).join('\n')}\n`
  beforeAll(() => {
    // Under PIPE_BUF (4096 bytes): cat writes it to the pipe at once, so it is recorded as one event
    // (a credential split across two events would not be found).
    expect(Buffer.byteLength(text)).toBeLessThan(4096)
    writeFileSync(file, text)
  })

  test('off, the output is recorded as given; on, it passes through to the terminal untouched and is stored and replayed masked', () => {
    const off = join(dir.path, 'off')
    const on = join(dir.path, 'on')
    expect(run(on, ['config', 'set', 'redact.enabled', 'true']).code).toBe(0)
    for (const home of [off, on]) {
      const recorded = run(home, ['record', '--quiet', '--name', 'deploy', '--', 'cat', file])
      expect(recorded.code, recorded.stderr).toBe(0)
      expect(recorded.stdout).toBe(text)
    }
    expect(run(off, ['replay', 'deploy', '--no-wait']).stdout).toBe(text)
    expect(secretsIn(off, SAMPLES)).toEqual(RULE_NAMES)
    expect(run(on, ['replay', 'deploy', '--no-wait']).stdout).toBe(`${SAMPLES.map((s) => s.masked).join('\n')}\n`)
    expect(secretsIn(on, SAMPLES)).toEqual([])
  })

  test('a redact.enabled it cannot read stops it before the command runs (exit 1)', () => {
    const home = join(dir.path, 'unreadable')
    mkdirSync(home, {mode: 0o700})
    writeFileSync(join(home, 'config.json'), JSON.stringify({'redact.enabled': 'maybe'}), {mode: 0o600})
    const marker = join(dir.path, 'ran')
    const refused = run(home, ['record', '--quiet', '--', 'touch', marker])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^Error: @sess\/plugin-redact refused: it cannot mask credentials/m)
    expect(existsSync(marker)).toBe(false)
    expect(runJson<Session[]>(home, ['list', '--limit', '0']).json.map((session) => session.status)).toEqual(['terminated'])
  })
})

describe('the corpus with credentials injected into its message text', () => {
  const dir = useTempDir('sess-redact-corpus-')
  const injected = join(dir.path, 'corpus')
  const home = join(dir.path, 'home')
  const files = filesUnder(CORPUS)
    .map((path) => relative(CORPUS, path))
    .filter((path) => path.includes('/') && !path.startsWith('LICENSES/'))
    .sort()
  const insert = `${SAMPLES.map((s) => s.text).join('\n')}\n`
  const maskedInsert = `${SAMPLES.map((s) => s.masked).join('\n')}\n`
  const saved = new Map<string, SaveReport['saved'][number]>()
  /** What a save of the untouched file reports (records, damage, format), by corpus path. */
  const baseline = new Map<string, {records: number; format: string}>()

  beforeAll(async () => {
    for (const file of files) {
      mkdirSync(dirname(join(injected, file)), {recursive: true})
      writeFileSync(join(injected, file), injectIntoFirstMessage(readFileSync(join(CORPUS, file), 'utf8'), insert))
    }
    expect(run(home, ['config', 'set', 'redact.enabled', 'true']).code).toBe(0)
    // One run for every folder; the file of unknown format must be named to be kept as raw.
    const raw = files.filter((file) => file.startsWith('other/'))
    for (const args of [['save', injected], ...raw.map((file) => ['save', join(injected, file)])]) {
      const result = runJson<SaveReport>(home, args)
      expect(result.code, result.stderr).toBe(0)
      for (const entry of result.json.saved) saved.set(relative(injected, entry.path), entry)
    }
    await using plain = await openStore({home: join(dir.path, 'baseline')})
    for (const file of files) baseline.set(file, await plain.save({bytes: readFileSync(join(CORPUS, file)), path: file}))
  })

  test('every file saves in its format, with the records of the untouched file, and one credential of each rule masked', () => {
    expect([...saved.keys()].sort()).toEqual(files)
    for (const file of files) {
      const {format, records} = baseline.get(file)!
      expect(saved.get(file), file).toMatchObject({damage: [], format, records, redacted: ONE_EACH})
    }
  })

  test('every file restores with the credentials masked, and still parses as JSON (each line for JSONL and casts)', async () => {
    await using store = await openStore({home})
    for (const file of files) {
      const restored = new TextDecoder().decode((await store.restore(saved.get(file)!.sessionId)).bytes)
      expect(restored, file).toBe(injectIntoFirstMessage(readFileSync(join(CORPUS, file), 'utf8'), maskedInsert))
      const documents = file.endsWith('.json') ? [restored] : restored.split('\n').filter((line) => line.trim() !== '')
      for (const document of documents) expect(() => JSON.parse(document), file).not.toThrow()
    }
  })

  test('no credential is anywhere in the store', () => {
    expect(secretsIn(home, SAMPLES)).toEqual([])
  })
})
