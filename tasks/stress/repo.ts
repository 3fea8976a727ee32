import {join} from 'node:path'

/** The repository's root: where `bin/run.ts`, the fixtures and `node_modules` are. */
export const REPO = join(import.meta.dir, '..', '..')
