import {lstatSync} from 'node:fs'
import type {StoreLayout} from '../store/home.ts'
import {readConfig, type SessConfig} from './file.ts'

/**
 * The settings file, parsed again only when it has changed: for reads on every write (the
 * handlers of `records.writing` read `redact.enabled` on each append). Each {@link read} first
 * lstat()s `config.json` (one system call, a few µs, where reading and parsing it takes tens) and
 * returns what it parsed last while the file's inode, size, modification and change times (ns)
 * are the same as then. `writeSetting` renames a new file into place (a new inode and change
 * time), so a change made by any process is seen on the next read. Only an edit in place that
 * keeps the size, within the clock tick of the file system's timestamps, could go unseen until
 * the next change.
 */
export class CachedConfig {
  readonly #layout: StoreLayout
  /** The file's identity when {@link #config} was read; `absent` when there was no file. */
  #signature: string | undefined
  #config: Readonly<SessConfig> = {}

  constructor(layout: StoreLayout) {
    this.#layout = layout
  }

  /**
   * The settings as they are now (frozen: the same object until the file changes).
   *
   * @throws {StorageError} when the file cannot be read or is not valid (as `readConfig`; never cached).
   */
  read(): Readonly<SessConfig> {
    // Stat before reading: a change between the two only costs one more read later.
    const stat = lstatSync(this.#layout.config, {bigint: true, throwIfNoEntry: false})
    const signature = stat === undefined ? 'absent' : `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`
    if (signature !== this.#signature) {
      this.#config = Object.freeze(readConfig(this.#layout))
      this.#signature = signature
    }
    return this.#config
  }
}
