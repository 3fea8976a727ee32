/**
 * Benchmark (j) of `tasks/bench.ts`: compression of idle sessions.
 *
 *   - the codecs on the session corpus, blob by blob as `sess gc` stores them: ratio, and
 *     compress and decompress throughput (MiB/s of original bytes) of zstd level 3 (the codec
 *     sess uses) with gzip level 6 beside it, in the same run, taking turns;
 *   - `sess gc` compressing N imported sessions (corpus files, each made distinct), as a real CLI
 *     process, against `zstd -3 -r --rm` over a copy of the same blob files; and a read
 *     (`store.restore`) of each session before and after.
 */
import {cpSync, readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {openStore} from '../../src/index.ts'
import {type CompressionCodec, decode, encode} from '../../plugins/persistence/src/blobs/codec.ts'
import {generateImported, timeCli} from './cleanup.ts'
import {atLeast, formatMs, formatRatio, median, type Section, timeSyncMs} from './stats.ts'

/** Options of {@link benchCompress}. */
export interface CompressBenchOptions {
  corpus: string
  /** How long each codec is timed in each direction, ms (in turns of one pass over the corpus). */
  codecMs: number
  /** Imported sessions `sess gc` compresses. */
  gcSessions: number
  progress: (message: string) => void
}

const MIB = 1_048_576

/** A codec's figures on the corpus. */
interface CodecFigures {
  bytes: number
  stored: number
  compressMiBs: number
  decompressMiBs: number
}

/** The corpus's session files (not its licences and provenance notes), read. */
function corpusFiles(corpus: string): Uint8Array[] {
  const walk = (directory: string): string[] =>
    readdirSync(directory, {withFileTypes: true}).flatMap((entry) => (entry.isDirectory() ? walk(join(directory, entry.name)) : [join(directory, entry.name)]))
  return walk(corpus)
    .filter((path) => !relative(corpus, path).startsWith('LICENSES/') && relative(corpus, path) !== 'SOURCES.md')
    .sort()
    .map((path) => new Uint8Array(readFileSync(path)))
}

/** Times both codecs in turns, one pass over `files` at a time, until each had `budget` ms per direction. */
function benchCodecs(files: Uint8Array[], budget: number): Record<CompressionCodec, CodecFigures> {
  const codecs: CompressionCodec[] = ['zstd', 'gzip']
  const bytes = files.reduce((sum, file) => sum + file.length, 0)
  const stored = Object.fromEntries(codecs.map((codec) => [codec, files.map((file) => encode(codec, file))])) as Record<CompressionCodec, Uint8Array[]>
  const time = Object.fromEntries(codecs.map((codec) => [codec, {compress: 0, decompress: 0, passes: 0}]))
  while (codecs.some((codec) => time[codec]!.compress < budget || time[codec]!.decompress < budget)) {
    for (const codec of codecs) {
      const figures = time[codec]!
      figures.compress += timeSyncMs(() => {
        for (const file of files) encode(codec, file)
      })
      figures.decompress += timeSyncMs(() => {
        for (const file of stored[codec]) decode(codec, file)
      })
      figures.passes += 1
    }
  }
  const rate = (passes: number, ms: number) => (bytes * passes) / MIB / (ms / 1000)
  const result = {} as Record<CompressionCodec, CodecFigures>
  for (const codec of codecs) {
    const {compress, decompress, passes} = time[codec]!
    result[codec] = {bytes, compressMiBs: rate(passes, compress), decompressMiBs: rate(passes, decompress), stored: stored[codec].reduce((sum, file) => sum + file.length, 0)}
  }
  return result
}

/** Median ms of `store.restore` of every session of the store at `home`. */
async function restoreMs(home: string): Promise<number> {
  await using store = await openStore({home})
  const samples: number[] = []
  for (const session of await store.list({limit: undefined})) {
    const started = performance.now()
    await store.restore(session.id)
    samples.push(performance.now() - started)
  }
  return median(samples)
}

/** Runs benchmark (j); see the module comment. */
export async function benchCompress(repo: string, scratch: string, options: CompressBenchOptions): Promise<Section> {
  const {gcSessions, progress} = options
  progress(`(j) zstd and gzip on the corpus, ${options.codecMs} ms each way`)
  const files = corpusFiles(options.corpus)
  const codecs = benchCodecs(files, options.codecMs)
  const {gzip, zstd} = codecs
  const ratio = (figures: CodecFigures) => figures.bytes / figures.stored

  const n = gcSessions.toLocaleString('en')
  progress(`(j) sess gc compressing ${n} imported sessions, against zstd -r`)
  const home = join(scratch, 'compress-store')
  const bytes = await generateImported(home, gcSessions, (i) => Buffer.concat([files[i % files.length]!, Buffer.from(`{"copy":${i}}\n`)]))
  const copy = join(scratch, 'compress-copy')
  cpSync(join(home, 'blobs'), copy, {recursive: true})
  const zstdCliMs = timeSyncMs(() => {
    const result = Bun.spawnSync(['zstd', '-3', '-q', '-r', '--rm', copy])
    if (result.exitCode !== 0) throw new Error(`zstd -r failed: ${result.stderr.toString()}`)
  })
  await restoreMs(home) // a warm-up, so that both timings read from the page cache
  const readBefore = await restoreMs(home)
  const helpMs = timeCli(repo, home, ['--help'])
  const gcMs = timeCli(repo, home, ['gc', '--compress-after', '7d', '--json'])
  const readAfter = await restoreMs(home)
  const stats = await (async () => {
    await using store = await openStore({home})
    return (await store.stats()).blobs
  })()
  if (stats.compressed === 0) throw new Error('sess gc compressed nothing')

  return {
    notes: [
      `corpus: ${files.length} session files, ${(zstd.bytes / 1024).toFixed(1)} KiB, each compressed and decompressed on its own (as gc stores each blob), through Bun's built-in libzstd and zlib; the codecs take turns`,
      'chosen: zstd level 3 (zstd\'s default); baseline: gzip level 6 (zlib\'s default); throughput is of original bytes, on one core',
      `gc: ${n} imported sessions idle for 60 days, each a corpus file plus a line that makes it distinct (${(bytes / MIB).toFixed(1)} MiB); one sess gc --compress-after 7d, wall time of the CLI process: read, compress, check, write (fsync of the file and its directory), switch the rows (one transaction per 100 blobs), delete the old file (fsync of the directory)`,
      'zstd -3 -q -r --rm: the zstd CLI over a copy of the same blob files, in place (no fsync, no index)',
      `${stats.count - stats.compressed} of ${stats.count.toLocaleString('en')} blobs stayed as they were: zstd does not shrink them`,
    ],
    rows: [
      {figure: 'zstd: ratio on the corpus (original / stored)', value: `${formatRatio(ratio(zstd))} (${((zstd.stored / zstd.bytes) * 100).toFixed(0)}% of the bytes)`},
      {figure: 'gzip: ratio on the corpus (original / stored)', value: `${formatRatio(ratio(gzip))} (${((gzip.stored / gzip.bytes) * 100).toFixed(0)}% of the bytes)`},
      atLeast('zstd ratio / gzip ratio', ratio(zstd) / ratio(gzip), 0.95),
      {figure: 'zstd: compress / decompress', value: `${zstd.compressMiBs.toFixed(0)} / ${zstd.decompressMiBs.toFixed(0)} MiB/s`},
      {figure: 'gzip: compress / decompress', value: `${gzip.compressMiBs.toFixed(0)} / ${gzip.decompressMiBs.toFixed(0)} MiB/s`},
      atLeast('zstd / gzip, compress throughput', zstd.compressMiBs / gzip.compressMiBs, 1.5),
      atLeast('zstd / gzip, decompress throughput', zstd.decompressMiBs / gzip.decompressMiBs, 1),
      {figure: `sess gc compressing ${n} sessions`, value: `${formatMs(gcMs)} (${(bytes / MIB / (gcMs / 1000)).toFixed(1)} MiB/s, ${Math.round(gcSessions / (gcMs / 1000)).toLocaleString('en')} sessions/s)`},
      {figure: `zstd -r over the same ${n} files`, value: formatMs(zstdCliMs)},
      {figure: '(sess gc − CLI start) / zstd -r', value: formatRatio((gcMs - helpMs) / zstdCliMs)},
      {figure: 'blobs after gc: before → stored', value: `${(stats.bytes / MIB).toFixed(1)} → ${(stats.storedBytes / MIB).toFixed(1)} MiB (${formatRatio(stats.bytes / stats.storedBytes)})`},
      {figure: 'store.restore per session: as is / compressed (median)', value: `${formatMs(readBefore)} / ${formatMs(readAfter)}`},
    ],
    title: `(j) compression: zstd vs gzip on the corpus; sess gc compressing ${n} sessions vs zstd -r`,
  }
}
