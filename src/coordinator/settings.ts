import type {SessConfig} from '../config/file.ts'
import type {SettingSpec} from '../config/registry.ts'
import {parseSettingValue} from '../config/values.ts'

/** Default of `sessions.maxActive`: at most this many sessions in use at once. */
export const DEFAULT_MAX_ACTIVE = 10

/** The core's settings: the limits of the multi-session coordinator. */
export const SESSION_SETTINGS: readonly SettingSpec[] = [
  {description: `at most this many sessions active, waiting for input or processing (default ${DEFAULT_MAX_ACTIVE})`, key: 'sessions.maxActive', type: 'count'},
  {description: 'pause active sessions idle for longer (default: never)', key: 'sessions.idleTimeout', type: 'duration'},
  {description: "bound of each session's output buffer (default 10MiB; $SESS_OUTPUT_LIMIT wins)", key: 'sessions.maxBuffer', type: 'size'},
]

/** The coordinator's settings, parsed. */
export interface SessionSettings {
  /** Most sessions in use at once (`sessions.maxActive`). */
  maxActive: number
  /** ms of inactivity after which an active session is paused; `null`: never (`sessions.idleTimeout`). */
  idleTimeout: number | null
  /** Bound of an output buffer without its own, bytes; `undefined`: not set (`sessions.maxBuffer`). */
  maxBuffer: number | undefined
}

/**
 * The `sessions.*` settings of `config`, with their defaults.
 *
 * @throws {InvalidInputError} when a stored value does not fit its type (naming the key).
 */
export function sessionSettings(config: SessConfig): SessionSettings {
  const read = <T extends 'count' | 'duration' | 'size'>(key: string, type: T) => (config[key] === undefined ? undefined : parseSettingValue(key, type, config[key]))
  const idle = read('sessions.idleTimeout', 'duration')
  return {
    idleTimeout: idle === undefined || idle === 0 ? null : idle,
    maxActive: read('sessions.maxActive', 'count') ?? DEFAULT_MAX_ACTIVE,
    maxBuffer: read('sessions.maxBuffer', 'size'),
  }
}
