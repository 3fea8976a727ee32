/**
 * Third-party plugins on the lifecycle bus (DESIGN §5): `sess plugins link PATH` of a plain JS oclif
 * plugin is enough for its `session.saving` handlers to run; a redactor's patch is what is stored;
 * a throwing plugin is reported and never loses data; a veto refuses the save and writes nothing.
 * The same plugin objects work through the library (`openStore({plugins})`).
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, test} from 'vitest'
import type {SaveReport} from '../plugins/persistence/src/commands/save.ts'
import {DEFAULT_PLUGINS, type HandlerFailure, openStore, type SessPlugin, VetoError} from '../src/index.ts'
import type {Session} from '../src/session/types.ts'
import {CORPUS, REPO, sess as run, sessJson as runJson, useTempDir} from './helpers/cli.ts'

const FIXTURES = join(REPO, 'test', 'fixtures', 'plugins')
/** Shaped like an API key, so the redactor fixture replaces it (it is not one). */
const SECRET = 'sk-Zq7Xw2Lp9Rt4Vb8Nm3Kd6Hs1'
const MARKER = 'DO-NOT-STORE'

const TRANSCRIPT = readFileSync(join(CORPUS, 'claude-code', 'simonw-sample-session.jsonl'), 'utf8')
const PROMPT = 'Create a hello world function'
const WITH_SECRET = TRANSCRIPT.replace(PROMPT, `${PROMPT} with the key ${SECRET} and again ${SECRET}`)
const REDACTED = TRANSCRIPT.replace(PROMPT, `${PROMPT} with the key [REDACTED] and again [REDACTED]`)
const WITH_MARKER = TRANSCRIPT.replace(PROMPT, `${PROMPT} ${MARKER}`)

/** Every file under `root`, recursively. */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
}

/** The files under `root` whose bytes hold `needle`. */
function filesHolding(root: string, needle: string): string[] {
  return filesUnder(root).filter((path) => readFileSync(path).includes(needle))
}

async function loadFixture(name: string): Promise<SessPlugin> {
  const path = join(FIXTURES, name, 'hooks', 'sess-plugin.js')
  const module = (await import(path)) as {default: () => Promise<SessPlugin>}
  return module.default()
}

test('the fixtures are plain JS ESM oclif plugins declaring the sess:plugin hook, with no dependencies', () => {
  for (const name of ['redactor', 'thrower', 'vetoer', 'broken']) {
    const pjson = JSON.parse(readFileSync(join(FIXTURES, name, 'package.json'), 'utf8')) as Record<string, unknown>
    expect(pjson).toMatchObject({oclif: {hooks: {'sess:plugin': './hooks/sess-plugin.js'}}, type: 'module'})
    expect(pjson.dependencies).toBeUndefined()
  }
  expect(WITH_SECRET).not.toBe(TRANSCRIPT)
  expect(WITH_MARKER).not.toBe(TRANSCRIPT)
})

describe('plugins linked into the CLI', () => {
  const dir = useTempDir('sess-plugins-')
  const home = join(dir.path, 'home')

  const link = (name: string) => {
    const result = run(home, ['plugins', 'link', join(FIXTURES, name), '--no-install'])
    expect(result.code, result.stderr).toBe(0)
  }

  beforeAll(() => {
    writeFileSync(join(dir.path, 'secret.jsonl'), WITH_SECRET)
    writeFileSync(join(dir.path, 'plain.jsonl'), TRANSCRIPT)
    writeFileSync(join(dir.path, 'marked.jsonl'), WITH_MARKER)
  })

  test('a linked redactor rewrites the bytes before they are stored: the secret is nowhere in the store', () => {
    link('redactor')
    const saved = runJson<SaveReport>(home, ['save', join(dir.path, 'secret.jsonl'), '--name', 'secret'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.json.saved[0]).toMatchObject({created: true, format: 'claude-code'})
    const restored = run(home, ['restore', 'secret'])
    expect(restored.code, restored.stderr).toBe(0)
    expect(restored.stdout).toBe(REDACTED)
    expect(restored.stdout).not.toContain(SECRET)
    const shown = run(home, ['show', 'secret', '--records', '1000', '--json'])
    expect(shown.stdout).toContain('[REDACTED]')
    expect(shown.stdout).not.toContain(SECRET)
    expect(filesUnder(home).length).toBeGreaterThan(1)
    expect(filesHolding(home, SECRET)).toEqual([])
    expect(filesHolding(home, '[REDACTED]').length).toBeGreaterThan(0)
  })

  test('a linked plugin that throws is reported by name on stderr; the save succeeds with the data intact', () => {
    link('thrower')
    const saved = run(home, ['save', join(dir.path, 'plain.jsonl'), '--name', 'plain'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(saved.stderr).toMatch(/plugin thrower failed in session\.saving \(thrower exploded on purpose\)/)
    expect(saved.stderr).not.toMatch(/^\s{4}at /m)
    const restored = run(home, ['restore', 'plain'])
    expect(restored.code, restored.stderr).toBe(0)
    expect(restored.stderr).toMatch(/plugin thrower failed in session\.restoring/)
    expect(restored.stdout).toBe(TRANSCRIPT)
    // The redactor still ran, before and beside the thrower.
    const secret = runJson<SaveReport>(home, ['save', join(dir.path, 'secret.jsonl'), '--name', 'secret-2'])
    expect(secret.code).toBe(0)
    expect(secret.json.saved[0]).toMatchObject({name: 'secret', unchanged: true})
  })

  test('a plugin whose hook fails to load is reported, and sess carries on without it', () => {
    link('broken')
    const result = run(home, ['list'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/sess-plugin-broken.*broken hook failed on purpose/)
    expect(result.stderr).not.toMatch(/^\s{4}at /m)
    expect(result.stdout).toContain('plain')
  })

  test('a vetoing plugin makes save exit 1 with its reason, and nothing is written', () => {
    link('vetoer')
    const before = runJson<Session[]>(home, ['list', '--limit', '0']).json
    const blobs = readdirSync(join(home, 'blobs')).sort()
    const result = run(home, ['save', join(dir.path, 'marked.jsonl'), '--name', 'marked'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^Error: vetoer refused: the session is marked DO-NOT-STORE/m)
    expect(result.stderr).not.toMatch(/^\s{4}at /m)
    const json = runJson<{error: {code: string; exitCode: number; message: string}}>(home, ['save', join(dir.path, 'marked.jsonl')])
    expect(json.code).toBe(1)
    expect(json.json.error).toMatchObject({code: 'E_VETOED', exitCode: 1})
    expect(runJson<Session[]>(home, ['list', '--limit', '0']).json).toEqual(before)
    expect(readdirSync(join(home, 'blobs')).sort()).toEqual(blobs)
    expect(filesHolding(home, MARKER)).toEqual([])
  })

  test('sess plugins lists every linked plugin', () => {
    const result = run(home, ['plugins'])
    expect(result.code, result.stderr).toBe(0)
    for (const name of ['redactor', 'thrower', 'vetoer', 'broken']) expect(result.stdout).toMatch(new RegExp(`sess-plugin-${name} .*\\(link\\)`))
  })

  test('once the vetoer is uninstalled its handler no longer runs', () => {
    const removed = run(home, ['plugins', 'uninstall', 'sess-plugin-vetoer'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(run(home, ['plugins']).stdout).not.toContain('sess-plugin-vetoer')
    const saved = runJson<SaveReport>(home, ['save', join(dir.path, 'marked.jsonl'), '--name', 'marked'])
    expect(saved.code, saved.stderr).toBe(0)
    expect(run(home, ['restore', 'marked']).stdout).toBe(WITH_MARKER)
  })
})

describe('the same plugins through the library', () => {
  const dir = useTempDir('sess-plugins-lib-')

  const encode = (text: string) => new TextEncoder().encode(text)
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

  test('the fixtures’ hooks hand over {name, register}', async () => {
    for (const name of ['redactor', 'thrower', 'vetoer']) {
      const plugin = await loadFixture(name)
      expect(plugin.name).toBe(name)
      expect(typeof plugin.register).toBe('function')
    }
  })

  test('a redactor passed to openStore redacts what is stored', async () => {
    const home = join(dir.path, 'redactor')
    {
      await using store = await openStore({home, plugins: [...DEFAULT_PLUGINS, await loadFixture('redactor')]})
      const saved = await store.save({bytes: encode(WITH_SECRET), name: 'secret', path: 'secret.jsonl'})
      expect(saved).toMatchObject({created: true, format: 'claude-code'})
      expect(decode((await store.restore('secret')).bytes)).toBe(REDACTED)
    }
    expect(filesHolding(home, SECRET)).toEqual([])
  })

  test('a throwing plugin is reported through onPluginError; save and restore keep the data intact', async () => {
    const failures: HandlerFailure[] = []
    await using store = await openStore({
      home: join(dir.path, 'thrower'),
      onPluginError: (failure) => failures.push(failure),
      plugins: [...DEFAULT_PLUGINS, await loadFixture('thrower')],
    })
    const saved = await store.save({bytes: encode(TRANSCRIPT), name: 'plain', path: 'plain.jsonl'})
    expect(saved).toMatchObject({created: true, damage: [], format: 'claude-code'})
    expect(decode((await store.restore('plain')).bytes)).toBe(TRANSCRIPT)
    expect(failures.map((f) => [f.plugin, f.event])).toEqual([
      ['thrower', 'session.saving'],
      ['thrower', 'session.saved'],
      ['thrower', 'session.restoring'],
    ])
    expect(failures.every((f) => f.error instanceof Error && f.error.message === 'thrower exploded on purpose')).toBe(true)
  })

  test('a vetoing plugin makes save reject with VetoError and the store stays empty', async () => {
    const home = join(dir.path, 'vetoer')
    await using store = await openStore({home, plugins: [...DEFAULT_PLUGINS, await loadFixture('vetoer')]})
    const refused = store.save({bytes: encode(WITH_MARKER), name: 'marked', path: 'marked.jsonl'})
    await expect(refused).rejects.toBeInstanceOf(VetoError)
    await expect(refused).rejects.toMatchObject({message: expect.stringContaining('the session is marked DO-NOT-STORE'), plugin: 'vetoer'})
    expect(await store.list()).toEqual([])
    expect(filesUnder(join(home, 'blobs'))).toEqual([])
    // Anything without the marker is let through.
    expect(await store.save({bytes: encode(TRANSCRIPT), name: 'plain'})).toMatchObject({created: true})
  })

  test('without the default plugins nothing can read a session: save says so instead of storing it', async () => {
    await using store = await openStore({home: join(dir.path, 'bare'), plugins: [await loadFixture('redactor')]})
    await expect(store.save({bytes: encode(TRANSCRIPT), name: 'plain'})).rejects.toThrow(/not a session file/)
    expect(await store.list()).toEqual([])
  })
})
