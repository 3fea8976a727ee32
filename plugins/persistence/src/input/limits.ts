import type {SessConfig} from '../../../../src/config/file.ts'
import type {SettingSpec} from '../../../../src/config/registry.ts'
import {parseSettingValue} from '../../../../src/config/values.ts'
import {formatBytes} from '../../../../src/cli/units.ts'
import {LimitError} from '../../../../src/errors/index.ts'

/**
 * Default of `save.maxBytes`, bytes: the largest file (or stdin) `sess save` reads. Parsing holds
 * the input several times over (bytes, text, values, rows): about 13× its size at the peak, so
 * 64 MiB needs under 1 GiB. Real transcripts are far smaller (the corpus's largest is 64 KiB).
 */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 ** 2

/** The persistence plugin's settings. */
export const SAVE_SETTINGS: readonly SettingSpec[] = [
  {description: `the largest file (or stdin) sess save reads (default ${formatBytes(DEFAULT_MAX_INPUT_BYTES)})`, key: 'save.maxBytes', type: 'size'},
]

/**
 * `save.maxBytes` of `config`, else {@link DEFAULT_MAX_INPUT_BYTES}.
 *
 * @throws {InvalidInputError} when the stored value is not a size.
 */
export function maxInputBytes(config: SessConfig): number {
  const text = config['save.maxBytes']
  return text === undefined ? DEFAULT_MAX_INPUT_BYTES : parseSettingValue('save.maxBytes', 'size', text)
}

/** The error for input (`source`: a path, or stdin) longer than `limit` bytes: it names the limit and the setting that raises it. */
export function inputTooLarge(source: string, limit: number): LimitError {
  return new LimitError(`${source} is larger than ${formatBytes(limit)}, the most sess save reads (save.maxBytes); nothing was saved.`, {
    hint: `If it is a session, raise the limit: sess config set save.maxBytes ${formatBytes(limit * 4).replace(' ', '')}.`,
  })
}
