/**
 * Benchmark (k) of `tasks/bench.ts`: the redact plugin's masking.
 *
 *   - `redactBytes` over the session corpus, file by file as `sess save` hands them over, against
 *     the persistence plugin's detection and parse of the same files (which masking precedes on
 *     every save with `redact.enabled`), taking turns: MiB/s of each;
 *   - `redactBytes` over near-matches of every rule (prefixes without a body, bodies one short,
 *     an opening quote never closed, a BEGIN line without END…), 10 MiB and 20 MiB of them: the
 *     worst case, and whether its time grows linearly with the input.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {builtinFormats, detectFormat} from '../../plugins/persistence/src/formats/index.ts'
import {sniff} from '../../plugins/persistence/src/formats/lines.ts'
import {redactBytes} from '../../plugins/redact/src/redact.ts'
import {NEAR_MATCHES, nearMatches} from '../../plugins/redact/src/testing.ts'
import {atLeast, atMost, formatMs, formatRatio, median, type Section, timeSyncMs} from './stats.ts'

/** Options of {@link benchRedact}. */
export interface RedactBenchOptions {
  corpus: string
  /** How long each of masking and parsing is timed on the corpus, ms (in turns of one pass). */
  budgetMs: number
  /** Timed runs of each near-match input. */
  runs: number
  progress: (message: string) => void
}

const MIB = 1_048_576

/** The corpus's session files (not its licences and provenance notes), read, with their paths. */
function corpusFiles(corpus: string): {path: string; bytes: Uint8Array}[] {
  const walk = (directory: string): string[] =>
    readdirSync(directory, {withFileTypes: true}).flatMap((entry) => (entry.isDirectory() ? walk(join(directory, entry.name)) : [join(directory, entry.name)]))
  return walk(corpus)
    .filter((path) => !relative(corpus, path).startsWith('LICENSES/') && relative(corpus, path) !== 'SOURCES.md')
    .sort()
    .map((path) => ({bytes: new Uint8Array(readFileSync(path)), path}))
}

/** Detects and parses `file` as `sess save` does (`allowRaw`: a file named on the command line). */
function parse(file: {path: string; bytes: Uint8Array}): void {
  const detected = detectFormat(sniff(file.bytes, file.path), builtinFormats, {allowRaw: true})
  detected?.adapter.parse?.(file.bytes, file.path)
}

/** Runs benchmark (k). */
export function benchRedact(options: RedactBenchOptions): Section {
  options.progress('(k) masking the corpus, and parsing it')
  const files = corpusFiles(options.corpus)
  const bytes = files.reduce((sum, file) => sum + file.bytes.length, 0)
  const time = {parse: 0, passes: 0, redact: 0}
  while (time.redact < options.budgetMs || time.parse < options.budgetMs) {
    time.redact += timeSyncMs(() => {
      for (const file of files) redactBytes(file.bytes)
    })
    time.parse += timeSyncMs(() => {
      for (const file of files) parse(file)
    })
    time.passes += 1
  }
  const rate = (ms: number) => (bytes * time.passes) / MIB / (ms / 1000)

  options.progress(`(k) masking 10 and 20 MiB of near-matches (${options.runs} runs each)`)
  const inputs = [10, 20].map((mib) => new TextEncoder().encode(nearMatches(mib * MIB)))
  const [ten, twenty] = inputs.map((input) => {
    const samples: number[] = []
    for (let run = 0; run < options.runs; run++) samples.push(timeSyncMs(() => redactBytes(input)))
    return median(samples)
  }) as [number, number]

  return {
    notes: [
      `corpus: ${files.length} files, ${(bytes / MIB).toFixed(2)} MiB, ${time.passes} passes of each, masking and parsing in turns; nothing in the corpus is masked`,
      'parse = the persistence plugin\'s detectFormat + parse of each file, what every save does after masking',
      `near-matches: ${NEAR_MATCHES.length} kinds of text that a rule starts to match and gives up on, each repeated in a block of its own; medians of ${options.runs} runs`,
    ],
    rows: [
      {figure: 'redactBytes on the corpus', value: `${rate(time.redact).toFixed(0)} MiB/s`},
      {figure: 'detect + parse on the corpus', value: `${rate(time.parse).toFixed(0)} MiB/s`},
      atLeast('masking / parsing throughput', time.parse / time.redact, 1),
      {figure: 'redactBytes, 10 MiB of near-matches', value: formatMs(ten)},
      {figure: 'redactBytes, 20 MiB of near-matches', value: formatMs(twenty)},
      {figure: 'near-matches throughput (worst case)', value: `${(20 / (twenty / 1000)).toFixed(0)} MiB/s`},
      atMost('linearity: 20 MiB / 10 MiB of near-matches', twenty / ten, 2.5),
      {figure: 'time of 20 MiB / twice the time of 10 MiB', value: formatRatio(twenty / (2 * ten))},
    ],
    title: '(k) masking credentials: redactBytes vs the parse it precedes, and its worst case',
  }
}
