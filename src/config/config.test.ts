import {readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tempDir} from '../../test/helpers/cli.ts'
import {InvalidInputError, StorageError} from '../errors/index.ts'
import {openStore} from '../store/open-store.ts'
import {checkSetting, findSetting, parseSettingValue} from './index.ts'

describe('settings (sess config)', () => {
  it('parses each type of value: durations, counts, sizes, booleans', () => {
    expect(parseSettingValue('k', 'duration', '90')).toBe(90_000)
    expect(parseSettingValue('k', 'duration', '1.5s')).toBe(1500)
    expect(parseSettingValue('k', 'duration', '2h')).toBe(7_200_000)
    expect(parseSettingValue('k', 'count', '0')).toBe(0)
    expect(parseSettingValue('k', 'size', '1KiB')).toBe(1024)
    for (const text of ['true', 'Yes', 'on', '1']) expect(parseSettingValue('k', 'boolean', text)).toBe(true)
    for (const text of ['false', 'NO', 'off', '0']) expect(parseSettingValue('k', 'boolean', text)).toBe(false)
    expect(() => parseSettingValue('redact.enabled', 'boolean', 'maybe')).toThrow(/redact.enabled "maybe" is not a boolean/)
    expect(() => parseSettingValue('k', 'count', '1.5')).toThrow(InvalidInputError)
  })

  it('finds the declaration of a key, patterns included', () => {
    expect(findSetting('gc.maxAge')).toMatchObject({key: 'gc.maxAge', type: 'duration'})
    expect(findSetting('gc.kinds.my.kind.maxBytes')).toMatchObject({key: 'gc.kinds.<kind>.maxBytes', type: 'size'})
    expect(findSetting('gc.tags.keep.keepAtLeast')).toMatchObject({type: 'count'})
    expect(() => findSetting('gc.maxAgeX')).toThrow(/Unknown setting/)
  })

  it('refuses unknown keys and values that do not fit, naming them', () => {
    for (const [key, value, message] of [
      ['gc.maxAge', 'soon', /gc.maxAge "soon" is not a duration/],
      ['gc.maxSessions', '-1', /not a whole number/],
      ['gc.maxBytes', 'lots', /not a size/],
      ['gc.kinds.terminal.trashGrace', '1d', /Unknown setting/],
      ['gc.kinds..maxAge', '1d', /Unknown setting/],
      ['colour', 'blue', /Unknown setting "colour"/],
    ] as const) {
      expect(() => checkSetting(key, value)).toThrow(InvalidInputError)
      expect(() => checkSetting(key, value)).toThrow(message)
    }
  })

  it('writes config.json atomically (0600), sorted; reads it back; refuses a damaged file', async () => {
    const dir = tempDir()
    try {
      await using store = await openStore({home: join(dir.path, 'store')})
      expect(store.config()).toEqual({})
      await store.setConfig('gc.maxAge', ' 30d ')
      expect(await store.setConfig('gc.keepAtLeast', '3')).toEqual({'gc.keepAtLeast': '3', 'gc.maxAge': '30d'})
      expect(await store.setConfig('gc.keepAtLeast', undefined)).toEqual({'gc.maxAge': '30d'})
      const file = join(store.home, 'config.json')
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({'gc.maxAge': '30d'})
      expect(statSync(file).mode & 0o777).toBe(0o600)
      await expect(store.setConfig('gc.nope', '1')).rejects.toBeInstanceOf(InvalidInputError)
      writeFileSync(file, '{"gc.maxAge": 30}')
      expect(() => store.config()).toThrow(StorageError)
    } finally {
      dir.remove()
    }
  })

  it('reads the settings again only once the file changed, whoever changed it', async () => {
    const dir = tempDir()
    try {
      const home = join(dir.path, 'store')
      await using store = await openStore({home})
      await using other = await openStore({home})
      const none = store.config()
      expect(none).toEqual({})
      expect(store.config()).toBe(none)
      await other.setConfig('redact.enabled', 'true')
      const set = store.config()
      expect(set).toEqual({'redact.enabled': 'true'})
      expect(store.config()).toBe(set)
      expect(Object.isFrozen(set)).toBe(true)
      // Edited in place, of another size.
      writeFileSync(join(home, 'config.json'), JSON.stringify({'redact.enabled': 'false', 'gc.maxAge': '1d'}))
      expect(store.config()).toEqual({'gc.maxAge': '1d', 'redact.enabled': 'false'})
      writeFileSync(join(home, 'config.json'), '[]')
      expect(() => store.config()).toThrow(StorageError)
      expect(() => store.config()).toThrow(StorageError)
      rmSync(join(home, 'config.json'))
      expect(store.config()).toEqual({})
    } finally {
      dir.remove()
    }
  })
})
