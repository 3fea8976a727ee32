import type {Kysely} from 'kysely'

// Frozen: migrations never change once released. They take Kysely<any> on purpose, so that later
// changes to the schema types cannot change what an old migration does.

const TABLES = ['versions', 'snapshots'] as const

/**
 * Compression of blobs (`sess gc`, `gc.compressAfter`): on `versions` and `snapshots`,
 * - `codec`: how the blob file is stored: `null` as written (not yet considered), `identity` as
 *   is on purpose (compression would not shrink it), `zstd` or `gzip`;
 * - `stored_bytes` and `stored_sha256`: length and SHA-256 of the file as stored (`null`: the
 *   file holds the original, whose length and SHA-256 are `bytes` and `sha256`).
 * Existing rows keep `null` in all three: their files are stored as is.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await db.schema.alterTable(table).addColumn('codec', 'text').execute()
    await db.schema.alterTable(table).addColumn('stored_bytes', 'bigint').execute()
    await db.schema.alterTable(table).addColumn('stored_sha256', 'text').execute()
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    for (const column of ['stored_sha256', 'stored_bytes', 'codec']) await db.schema.alterTable(table).dropColumn(column).execute()
  }
}
