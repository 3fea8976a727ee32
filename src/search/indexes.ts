import type {DialectName} from '../db/dialect.ts'
import {PostgresFullTextIndex} from './postgres-fts.ts'
import type {SearchIndex} from './search-index.ts'
import {SqliteFts5Index} from './sqlite-fts5.ts'

/** The full-text index implementation of a database engine. */
export function searchIndexFor(dialect: DialectName): SearchIndex {
  return dialect === 'postgres' ? new PostgresFullTextIndex() : new SqliteFts5Index()
}
