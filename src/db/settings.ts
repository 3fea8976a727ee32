import type {SessConfig} from '../config/file.ts'
import type {SettingSpec} from '../config/registry.ts'
import {parseSettingValue} from '../config/values.ts'

/** The environment variable that points the store at a PostgreSQL database (DESIGN §8). */
export const DATABASE_URL_ENV = 'SESS_DATABASE_URL'

/** The core's database setting. */
export const DATABASE_SETTINGS: readonly SettingSpec[] = [
  {description: `keep the index and content in this PostgreSQL database, shared by every machine that uses it ($${DATABASE_URL_ENV} wins)`, key: 'database.url', type: 'postgres-url'},
]

/**
 * Where the store's metadata database is: `explicit` if given, else `$SESS_DATABASE_URL`, else the
 * setting `database.url`, else the embedded SQLite file `sqliteFile`.
 *
 * @returns a `postgres://` URL or the SQLite path.
 * @throws {InvalidInputError} when the URL chosen is not a PostgreSQL URL (naming where it came from).
 */
export function databaseLocation(sqliteFile: string, config: () => SessConfig, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined) return parseSettingValue('databaseUrl', 'postgres-url', explicit)
  const fromEnv = env[DATABASE_URL_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return parseSettingValue(DATABASE_URL_ENV, 'postgres-url', fromEnv)
  const fromConfig = config()['database.url']
  return fromConfig === undefined ? sqliteFile : parseSettingValue('database.url', 'postgres-url', fromConfig)
}
