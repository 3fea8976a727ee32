import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {InvalidInputError, StorageError} from '../../../src/errors/index.ts'
import {openStore} from '../../../src/store/open-store.ts'
import {tempDir} from '../../../test/helpers/cli.ts'
import {checkSetting, policyFromConfig} from './config.ts'

describe('settings (sess config)', () => {
  it('turns settings into a retention policy', () => {
    expect(
      policyFromConfig({
        'gc.keepAtLeast': '5',
        'gc.kinds.terminal.maxAge': '7d',
        'gc.maxAge': '30d',
        'gc.maxBytes': '5GiB',
        'gc.maxSessions': '1000',
        'gc.tags.keep.maxAge': '90',
        'gc.trashGrace': '1h',
      }),
    ).toEqual({
      keepAtLeast: 5,
      kinds: {terminal: {maxAge: 7 * 86_400_000}},
      maxAge: 30 * 86_400_000,
      maxBytes: 5 * 1024 ** 3,
      maxSessions: 1000,
      tags: {keep: {maxAge: 90_000}},
      trashGrace: 3_600_000,
    })
  })

  it('gc.compressAfter: a duration, or off (null: never); for the whole store only', () => {
    expect(policyFromConfig({'gc.compressAfter': '30d'})).toEqual({compressAfter: 30 * 86_400_000})
    expect(policyFromConfig({'gc.compressAfter': 'off'})).toEqual({compressAfter: null})
    expect(checkSetting('gc.compressAfter', ' off ')).toBe('off')
    expect(() => checkSetting('gc.compressAfter', 'never')).toThrow(/gc.compressAfter "never" is not a duration, or off/)
    expect(() => checkSetting('gc.kinds.terminal.compressAfter', '1d')).toThrow(/Unknown setting/)
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
})
