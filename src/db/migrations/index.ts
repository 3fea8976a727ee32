import type {Migration, MigrationProvider} from 'kysely/migration'
import * as initial from './2026-11-21T00-initial.ts'
import * as locks from './2026-11-21T01-locks.ts'
import * as outputBuffer from './2026-11-21T02-output-buffer.ts'
import * as cleanup from './2026-11-21T03-cleanup.ts'
import * as coordinator from './2026-11-21T04-coordinator.ts'
import * as search from './2026-11-21T05-search.ts'
import * as compression from './2026-11-21T06-compression.ts'
import * as blobChunks from './2026-11-21T07-blob-chunks.ts'

/**
 * Every migration, by dated name, statically imported (no file-system scan at run time, so the
 * list is the same in a bundle, under Bun and in tests). Append new ones; never edit or reorder.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026-11-21T00-initial': initial,
  '2026-11-21T01-locks': locks,
  '2026-11-21T02-output-buffer': outputBuffer,
  '2026-11-21T03-cleanup': cleanup,
  '2026-11-21T04-coordinator': coordinator,
  '2026-11-21T05-search': search,
  '2026-11-21T06-compression': compression,
  '2026-11-21T07-blob-chunks': blobChunks,
}

/** A Kysely `MigrationProvider` over {@link MIGRATIONS}. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({...MIGRATIONS}),
}
