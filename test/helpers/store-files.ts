/**
 * What a store holds on disk, for tests that must prove a command changed nothing (or left no
 * litter): a fingerprint of every entry, the rows of its database, its temp files.
 */
import {existsSync, lstatSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {join, relative} from 'node:path'
import {TEMP_FILE} from '../../plugins/cleanup/src/content/home-scan.ts'
import {sha256Hex} from './crash-child.ts'

/**
 * Every entry of the store (symlinks not followed): path, mode, and the SHA-256 of each file's
 * bytes; the database by its content (every row of every table, read by a child process), not by
 * its files, which this process must not open while it has the store open (closing any descriptor
 * of the database file drops the process's SQLite locks on it), and whose WAL a reader may
 * checkpoint without changing what the database holds.
 */
export function fingerprint(home: string): string[] {
  const out: string[] = []
  const walk = (path: string) => {
    const stat = lstatSync(path)
    const name = relative(home, path) || '.'
    if (stat.isSymbolicLink()) out.push(`${name} -> ${readlinkSync(path)}`)
    else if (stat.isDirectory()) {
      out.push(`${name}/ ${(stat.mode & 0o777).toString(8)}`)
      for (const entry of readdirSync(path).sort()) walk(join(path, entry))
    } else if (name.startsWith('sess.db')) {
      if (name === 'sess.db') out.push(`sess.db ${(stat.mode & 0o777).toString(8)} rows ${databaseDigest(path)}`)
    } else out.push(`${name} ${(stat.mode & 0o777).toString(8)} ${sha256Hex(readFileSync(path))}`)
  }
  walk(home)
  return out
}

/** SHA-256 of every row of every table of the SQLite database at `path`, read by a child process. */
export function databaseDigest(path: string): string {
  const script = `
    const {Database} = require('bun:sqlite')
    const db = new Database(process.argv[1], {readonly: true})
    const hasher = new Bun.CryptoHasher('sha256')
    const NL = String.fromCharCode(10)
    for (const {name} of db.query("select name from sqlite_master where type = 'table' order by name").all()) {
      const rows = db.query('select * from "' + name + '"').all().map((row) => JSON.stringify(row)).sort()
      hasher.update(name + NL + rows.join(NL) + NL)
    }
    process.stdout.write(hasher.digest('hex'))`
  const child = Bun.spawnSync([process.execPath, '-e', script, path])
  if (child.exitCode !== 0) throw new Error(`database digest failed: ${child.stderr.toString()}`)
  return child.stdout.toString()
}

/** Every file under `root` (recursively), relative names, sorted; `[]` when `root` is not there. */
export function tree(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, {recursive: true, withFileTypes: false}).map(String).sort()
}

/** The temp files of atomic writes (`.<name>.tmp-<hex>`) anywhere under `root`, relative names. */
export function tempFiles(root: string): string[] {
  return tree(root).filter((path) => TEMP_FILE.test(path.split('/').pop()!))
}
