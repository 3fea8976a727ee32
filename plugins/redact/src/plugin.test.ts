import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {SessPlugin} from '../../../src/bus/index.ts'
import {VetoError} from '../../../src/errors/index.ts'
import {DEFAULT_PLUGINS, openStore} from '../../../src/store/open-store.ts'
import {oneOfEachRule, secretsIn} from './testing.ts'

const root = mkdtempSync(join(tmpdir(), 'sess-redact-'))
afterAll(() => rmSync(root, {force: true, recursive: true}))
let homes = 0
const newHome = () => join(root, `home-${++homes}`)

const PROMPT = 'List the files in this project.'
const TRANSCRIPT = readFileSync(join(import.meta.dirname, '../../../test/fixtures/sessions/hello-claude.jsonl'), 'utf8')
const SAMPLES = oneOfEachRule()
/** The transcript with a credential of every rule in its first prompt (JSON-escaped, as a tool writes it). */
const WITH_SECRETS = TRANSCRIPT.replace(PROMPT, JSON.stringify(`${PROMPT}\n${SAMPLES.map((s) => s.text).join('\n')}\n`).slice(1, -1))
const MASKED = TRANSCRIPT.replace(PROMPT, JSON.stringify(`${PROMPT}\n${SAMPLES.map((s) => s.masked).join('\n')}\n`).slice(1, -1))
const ONE_EACH = Object.fromEntries(SAMPLES.map((s) => [s.rule, 1]))

const encode = (text: string) => new TextEncoder().encode(text)
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)


describe('the redact plugin in the library (openStore with its default plugins)', () => {
  it('is one of the default plugins, and off by default: the bytes are saved as given', async () => {
    expect(DEFAULT_PLUGINS.map((plugin) => plugin.name)).toContain('@sess/plugin-redact')
    const home = newHome()
    await using store = await openStore({home})
    const saved = await store.save({bytes: encode(WITH_SECRETS), name: 'plain'})
    expect(saved.redacted).toEqual({})
    expect(decode((await store.restore('plain')).bytes)).toBe(WITH_SECRETS)
    expect(secretsIn(home, SAMPLES)).toEqual(SAMPLES.map((sample) => sample.rule))
    await store.setConfig('redact.enabled', 'false')
    expect((await store.save({bytes: encode(`${WITH_SECRETS}\n`), name: 'still-plain'})).redacted).toEqual({})
  })

  it('once redact.enabled is true, masks every rule before anything is stored, and reports counts by rule', async () => {
    const home = newHome()
    {
      await using store = await openStore({home})
      await store.setConfig('redact.enabled', 'true')
      const saved = await store.save({bytes: encode(WITH_SECRETS), name: 'masked'})
      expect(saved).toMatchObject({created: true, format: 'claude-code', redacted: ONE_EACH, unchanged: false})
      expect(decode((await store.restore('masked')).bytes)).toBe(MASKED)
      const records = []
      for await (const {record} of store.records('masked')) records.push(JSON.stringify(record))
      expect(records.join('\n')).toContain('[REDACTED:private-key]')
      expect(await store.search('REDACTED anthropic')).toHaveLength(1)
      // Saved again: the masked bytes are already there (idempotence is judged on them), and the counts are reported again.
      expect(await store.save({bytes: encode(WITH_SECRETS)})).toMatchObject({name: 'masked', redacted: ONE_EACH, unchanged: true})
    }
    expect(secretsIn(home, SAMPLES)).toEqual([])
  })

  it('fails closed: a redact.enabled it cannot read vetoes the save, and nothing is stored', async () => {
    const home = newHome()
    await using store = await openStore({home})
    writeFileSync(join(home, 'config.json'), JSON.stringify({'redact.enabled': 'maybe'}))
    const refused = store.save({bytes: encode(WITH_SECRETS), name: 'refused'})
    await expect(refused).rejects.toBeInstanceOf(VetoError)
    await expect(refused).rejects.toMatchObject({message: expect.stringMatching(/^@sess\/plugin-redact refused: it cannot mask credentials \(redact.enabled "maybe" is not a boolean/), plugin: '@sess/plugin-redact'})
    expect(await store.list()).toEqual([])
  })

  it('vetoes rather than store a parse made before it masked the bytes', async () => {
    const early: SessPlugin = {
      name: 'early-parser',
      register(bus) {
        bus.on('session.saving', (payload) => ({parsed: {damage: [], format: 'early', kind: 'chat', meta: {}, output: [], records: [{data: decode(payload.bytes), name: 'all', type: 'event'}]}}), {order: -2000})
      },
    }
    await using store = await openStore({home: newHome(), plugins: [...DEFAULT_PLUGINS, early]})
    await store.setConfig('redact.enabled', 'true')
    await expect(store.save({bytes: encode(WITH_SECRETS)})).rejects.toMatchObject({message: expect.stringContaining('already parsed the original'), plugin: '@sess/plugin-redact'})
    // Without a credential there is nothing to mask, and that parse stands.
    expect(await store.save({bytes: encode(TRANSCRIPT)})).toMatchObject({format: 'early', redacted: {}})
  })

  it('adds its counts to those of a plugin that masked before it', async () => {
    const custom: SessPlugin = {
      name: 'custom-masker',
      register(bus) {
        bus.on('session.saving', (payload) => ({bytes: encode(decode(payload.bytes).replace(PROMPT, '[REDACTED:custom]')), redacted: {custom: 1}}), {order: -2000})
      },
    }
    await using store = await openStore({home: newHome(), plugins: [...DEFAULT_PLUGINS, custom]})
    await store.setConfig('redact.enabled', 'true')
    const saved = await store.save({bytes: encode(`${TRANSCRIPT}${WITH_SECRETS}`)})
    expect(saved.redacted).toEqual({...ONE_EACH, custom: 1})
  })
})
