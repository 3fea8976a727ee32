import {type Kysely, sql} from 'kysely'
import {Migrator} from 'kysely/migration'
import {StorageError} from '../errors/index.ts'
import {lockFile} from '../os/flock.ts'
import {MIGRATIONS, migrationProvider} from './migrations/index.ts'
import type {Database} from './schema.ts'

/** A migration and whether (and when) it was applied. */
export interface MigrationState {
  name: string
  appliedAt: Date | null
}

/** Every known migration with its state, oldest first. */
export async function migrationStatus(db: Kysely<Database>): Promise<MigrationState[]> {
  const migrations = await new Migrator({db, provider: migrationProvider}).getMigrations()
  return migrations.map((m) => ({appliedAt: m.executedAt ?? null, name: m.name}))
}

async function appliedNames(db: Kysely<Database>): Promise<string[] | undefined> {
  try {
    const rows = await sql<{name: string}>`select name from kysely_migration`.execute(db)
    return rows.rows.map((row) => row.name)
  } catch {
    return undefined // no migration table yet: a new store
  }
}

/**
 * Brings the schema up to date, as every command does on first use. Cheap when nothing is
 * pending (one indexed read). Migrations run under an exclusive file lock (`lockPath`), since two
 * processes may open a new store at once, and each in a write transaction of its own together
 * with its row in `kysely_migration`: Kysely's migrator runs SQLite's DDL without one (its SQLite
 * adapter declares no transactional DDL), so a migration that failed half way (a full disk, an
 * I/O error) would leave some of its statements applied and itself unrecorded, and every later
 * attempt would fail on them (`duplicate column name`). SQLite's DDL is transactional: a failed
 * migration now leaves nothing behind, and the next attempt runs it whole.
 *
 * @param beginWrite the statement that starts a write transaction (`MetadataDatabase.beginWrite`).
 * @returns the names of the migrations applied now (empty when already current).
 * @throws {StorageError} when the database holds migrations this sess does not know (a newer
 *   schema: sess never downgrades), or when a migration fails.
 */
export async function migrateToLatest(db: Kysely<Database>, lockPath: string, beginWrite: string): Promise<string[]> {
  const known = Object.keys(MIGRATIONS)
  const before = await appliedNames(db)
  assertNotNewer(before ?? [], known)
  if (before && known.every((name) => before.includes(name))) return []
  using _lock = lockFile(lockPath, {wait: true})
  const current = (await appliedNames(db)) ?? [] // another process may have migrated while this one waited for the lock
  const applied: string[] = []
  for (const name of known.filter((name) => !current.includes(name))) {
    const done = await db.connection().execute(async (connection) => {
      await sql.raw(beginWrite).execute(connection)
      try {
        const {error, results = []} = await new Migrator({db: connection, provider: migrationProvider}).migrateTo(name)
        if (error) throw migrationFailed(name, error)
        await sql.raw('commit').execute(connection)
        return results.some((result) => result.status === 'Success')
      } catch (error) {
        await sql.raw('rollback').execute(connection).catch(() => undefined) // none left if COMMIT itself failed
        throw error instanceof StorageError ? error : migrationFailed(name, error)
      }
    })
    if (done) applied.push(name)
  }
  return applied
}

function migrationFailed(name: string, error: unknown): StorageError {
  return new StorageError(`Migration ${name} failed: ${(error as Error).message ?? error}`, {
    cause: error,
    hint: 'Nothing of it was applied; fix the cause (the disk, its space) and run `sess migrate` again.',
  })
}

function assertNotNewer(applied: string[], known: string[]): void {
  const unknown = applied.filter((name) => !known.includes(name))
  if (unknown.length > 0) {
    throw new StorageError(`This store's database has a newer schema than this version of sess knows (${unknown.join(', ')}).`, {
      hint: 'Upgrade sess to open this store; sess never downgrades a schema.',
    })
  }
}
