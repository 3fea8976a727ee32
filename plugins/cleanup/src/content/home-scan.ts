import {type Dirent, lstatSync, readdirSync, type Stats} from 'node:fs'
import {join} from 'node:path'
import {isSessionId} from '../../../../src/session/names.ts'
import type {StoreLayout} from '../../../../src/store/home.ts'
import {toStorageError} from '../../../persistence/src/blobs/atomic-write.ts'

/** Name of a temp file left by an atomic write (`writeFileAtomic`): `.<name>.tmp-<12 hex digits>`. */
export const TEMP_FILE = /^\..+\.tmp-[0-9a-f]{12}$/

/** Name of a quarantine batch directory: `<ms since the epoch>-<random>`. */
export const QUARANTINE_BATCH = /^(\d{13})-[0-9a-z]+$/i

/** Files of the home directory itself that sess makes (besides temp files). */
const HOME_FILES = new Set(['sess.db', 'sess.db-wal', 'sess.db-shm', 'sess.db-journal', 'migrate.lock', 'gc.lock', 'content.lock', 'config.json'])

/** Something found in the store: a file or directory path, or (content in the database) a locator such as `blob_chunks:<session id>/<blob>`. */
export interface FoundFile {
  path: string
  bytes: number
}

/** A blob of a session, as stored (its bytes: the stored length). */
export interface FoundBlob extends FoundFile {
  blob: string
}

/** A quarantine batch: when it was made (ms) and its bytes. */
export interface FoundBatch extends FoundFile {
  at: number
}

/** What stands in the store, by what it is; the same listing serves gc and doctor. */
export interface ContentScan {
  /** Temp files of atomic writes in the home (a crash between the write and the rename leaves them). */
  temps: FoundFile[]
  /** The blobs of each session that has any (files of its blob directory, or its rows of `blob_chunks`), by session id. */
  dirs: Map<string, {path: string; blobs: Map<string, FoundBlob>}>
  /** Anything in `blobs/` that is neither a session's directory nor a blob in one (counted with all it holds). */
  strays: (FoundFile & {why: string})[]
  /** Symlinks anywhere in the store's home (never followed). */
  symlinks: string[]
  /** Files and directories of the home whose mode is not 0600 / 0700 (the home included). */
  modes: {path: string; mode: number; want: number}[]
  /** Quarantine batches: directories of the home's `quarantine/`, and blobs set aside in the database. */
  quarantine: FoundBatch[]
}

/**
 * Lists the store's home without following any symlink and without reading file contents
 * (`readdir` with file types, `lstat` for sizes and modes); missing directories are empty. The
 * blob directory `blobs/` is listed when `blobFiles` (the store's blobs are files): otherwise it is
 * not this store's content (a store on PostgreSQL keeps blobs in its database; a `blobs/` there is
 * the home's own SQLite store's) and is left alone.
 *
 * @throws {StorageError} when a directory of the store cannot be read.
 */
export function scanHome(layout: StoreLayout, options: {blobFiles: boolean}): ContentScan {
  const scan: ContentScan = {dirs: new Map(), modes: [], quarantine: [], strays: [], symlinks: [], temps: []}
  checkMode(scan, layout.home, 0o700)
  for (const entry of list(layout.home)) {
    const path = join(layout.home, entry.name)
    if (entry.isSymbolicLink()) scan.symlinks.push(path)
    else if (entry.isFile() && TEMP_FILE.test(entry.name)) scan.temps.push({bytes: size(path), path})
    else if (entry.isFile() && HOME_FILES.has(entry.name)) checkMode(scan, path, 0o600)
    else if (entry.isDirectory() && path === layout.blobs && options.blobFiles) scanBlobs(scan, path)
    else if (entry.isDirectory() && path === layout.quarantine) scanQuarantine(scan, path)
  }
  return scan
}

/** The quarantine batches of the home's `quarantine/` (without a scan of the rest). */
export function homeQuarantine(layout: StoreLayout): FoundBatch[] {
  const scan: ContentScan = {dirs: new Map(), modes: [], quarantine: [], strays: [], symlinks: [], temps: []}
  scanQuarantine(scan, layout.quarantine)
  return scan.quarantine
}

function scanBlobs(scan: ContentScan, root: string): void {
  checkMode(scan, root, 0o700)
  for (const entry of list(root)) {
    const path = join(root, entry.name)
    if (entry.isSymbolicLink()) {
      scan.symlinks.push(path)
    } else if (entry.isFile() && TEMP_FILE.test(entry.name)) {
      scan.temps.push({bytes: size(path), path})
    } else if (entry.isDirectory() && isSessionId(entry.name)) {
      checkMode(scan, path, 0o700)
      const blobs = new Map<string, FoundBlob>()
      for (const inner of list(path)) {
        const file = join(path, inner.name)
        if (inner.isSymbolicLink()) scan.symlinks.push(file)
        else if (inner.isFile() && TEMP_FILE.test(inner.name)) scan.temps.push({bytes: size(file), path: file})
        else if (inner.isFile() && isSessionId(inner.name)) {
          const stat = lstatSync(file, {throwIfNoEntry: false})
          if (!stat) continue
          checkModeOf(scan, file, stat, 0o600)
          blobs.set(inner.name, {blob: inner.name, bytes: stat.size, path: file})
        } else scan.strays.push({bytes: treeBytes(file), path: file, why: inner.isDirectory() ? 'a directory inside a session blob directory' : 'a file not named like a blob'})
      }
      scan.dirs.set(entry.name, {blobs, path})
    } else {
      scan.strays.push({bytes: treeBytes(path), path, why: entry.isDirectory() ? 'a directory not named by a session id' : 'a file outside any session blob directory'})
    }
  }
}

function scanQuarantine(scan: ContentScan, root: string): void {
  checkMode(scan, root, 0o700)
  for (const entry of list(root)) {
    const path = join(root, entry.name)
    const match = QUARANTINE_BATCH.exec(entry.name)
    if (entry.isSymbolicLink()) scan.symlinks.push(path)
    else if (match && entry.isDirectory()) scan.quarantine.push({at: Number(match[1]), bytes: treeBytes(path), path})
  }
}

/** Bytes of the regular files in a tree (or of one file), symlinks not followed. */
export function treeBytes(path: string): number {
  const stat = lstatSync(path, {throwIfNoEntry: false})
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0
  let total = 0
  for (const entry of list(path)) total += treeBytes(join(path, entry.name))
  return total
}

/** @throws {StorageError} when `dir` cannot be read (EIO…); a missing one is empty. */
function list(dir: string): Dirent[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw toStorageError(error, `list ${dir}`, dir)
  }
}

function size(path: string): number {
  return lstatSync(path, {throwIfNoEntry: false})?.size ?? 0
}

function checkMode(scan: ContentScan, path: string, want: number): void {
  const stat = lstatSync(path, {throwIfNoEntry: false})
  if (stat && !stat.isSymbolicLink()) checkModeOf(scan, path, stat, want)
}

function checkModeOf(scan: ContentScan, path: string, stat: Stats, want: number): void {
  const mode = stat.mode & 0o777
  if (mode !== want) scan.modes.push({mode, path, want})
}
