/**
 * Vitest global setup: the PostgreSQL server that the suites parameterised over both database
 * engines use. `$SESS_TEST_POSTGRES_URL` names one (CI starts it with `tasks/postgres.ts`); else
 * one is started for the run in a temporary directory and stopped afterwards.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startPostgres, stopPostgres} from '../../tasks/postgres.ts'
import {POSTGRES_URL_ENV} from '../helpers/dialects.ts'

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[POSTGRES_URL_ENV]) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'sess-test-postgres-'))
  const server = await startPostgres(dir)
  process.env[POSTGRES_URL_ENV] = server.url
  return async () => {
    await stopPostgres(dir)
    rmSync(dir, {force: true, recursive: true})
  }
}
