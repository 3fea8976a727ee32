import {type Kysely, sql} from 'kysely'
import {Migrator} from 'kysely/migration'
import {dirname} from 'node:path'
import {type DiskFullError, StorageError} from '../errors/index.ts'
import {diskFullError, isDiskFull} from '../os/disk-space.ts'
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
  } catch (error) {
    if (/no such table|does not exist/.test((error as Error).message)) return undefined // no migration table yet: a new store
    throw error
  }
}

/**
 * Brings the schema up to date, as every command does on first use. Cheap when nothing is
 * pending (one indexed read). Migrations run under an exclusive file lock (`lockPath`), since two
 * processes may open a new store at once, and all the pending ones commit in one transaction with
 * Kysely's record of them (see `BunSqliteDialect`): a crash or a failure at any instant leaves the
 * schema as it was before, never half migrated.
 * On PostgreSQL, Kysely's migrator also holds an advisory lock, so two machines sharing the
 * database never migrate it at once.
 *
 * @returns the names of the migrations applied now (empty when already current).
 * @param lockPath the lock file, in the store's home.
 * @throws {StorageError} when the database holds migrations this sess does not know (a newer
 *   schema: sess never downgrades), or when a migration fails; a {@link DiskFullError} when it
 *   failed for want of space.
 */
export async function migrateToLatest(db: Kysely<Database>, lockPath: string): Promise<string[]> {
  const known = Object.keys(MIGRATIONS)
  const before = await appliedNames(db)
  assertNotNewer(before ?? [], known)
  if (before && known.every((name) => before.includes(name))) return []
  using _lock = lockFile(lockPath, {wait: true})
  const {error, results = []} = await new Migrator({db, provider: migrationProvider}).migrateToLatest()
  if (error) {
    if (isDiskFull(error)) throw diskFullError(dirname(lockPath), error)
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new StorageError(`Migration ${failed} failed: ${(error as Error).message ?? error}`, {
      cause: error,
      hint: 'Nothing of it was applied; fix the cause (the disk, its space) and run `sess migrate` again, or report the error.',
    })
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/**
 * Refuses a database whose schema is newer than this sess: one that holds migrations it does not
 * know. Reads only (`kysely_migration`); a database without that table is new, not newer.
 *
 * @throws {StorageError} naming the unknown migrations.
 */
export async function assertSchemaNotNewer(db: Kysely<Database>): Promise<void> {
  assertNotNewer((await appliedNames(db)) ?? [], Object.keys(MIGRATIONS))
}

function assertNotNewer(applied: string[], known: string[]): void {
  const unknown = applied.filter((name) => !known.includes(name))
  if (unknown.length > 0) {
    throw new StorageError(`This store's database has a newer schema than this version of sess knows (${unknown.join(', ')}).`, {
      hint: 'Upgrade sess to open this store; sess never downgrades a schema.',
    })
  }
}
