import {describe, expect, it} from 'vitest'
import {InvalidInputError} from '../../../src/errors/index.ts'
import {checkSetting} from '../../../src/config/file.ts'
import {policyFromConfig} from './config.ts'

describe('gc settings', () => {
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

  it('refuses a stored gc key that names no policy field', () => {
    expect(() => policyFromConfig({'gc.kinds.terminal.trashGrace': '1d'})).toThrow(InvalidInputError)
  })

  it('gc.compressAfter: a duration, or off (null: never); for the whole store only', () => {
    expect(policyFromConfig({'gc.compressAfter': '30d'})).toEqual({compressAfter: 30 * 86_400_000})
    expect(policyFromConfig({'gc.compressAfter': 'off'})).toEqual({compressAfter: null})
    expect(checkSetting('gc.compressAfter', ' off ')).toBe('off')
    expect(() => checkSetting('gc.compressAfter', 'never')).toThrow(/gc.compressAfter "never" is not a duration, or off/)
    expect(() => checkSetting('gc.kinds.terminal.compressAfter', '1d')).toThrow(/Unknown setting/)
  })
})
