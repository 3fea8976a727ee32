/**
 * Benchmark (g) of `tasks/bench.ts`: the cost of recording, and the speed of replaying.
 *
 *   - `sess record -- cat BIGFILE` against plain `cat BIGFILE` and against
 *     `asciinema rec -c 'cat BIGFILE'`, each run in a pseudo-terminal whose output the benchmark
 *     reads (as a terminal emulator would), wall time, median of `runs`;
 *   - `sess replay NAME --no-wait` of a buffer holding the whole file, into a pipe: MiB/s.
 */
import {closeSync, openSync, rmSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {atMost, formatMs, formatRatio, median, type Section} from './stats.ts'

/** Options of {@link benchReplay}. */
export interface ReplayBenchOptions {
  /** Size of the file `cat` writes, in MiB. */
  fileMiB: number
  /** Runs of each contender (median taken). */
  runs: number
  progress: (message: string) => void
}

const MIB = 1024 * 1024

/** Writes `mib` MiB of printable lines (what a build log looks like) to `path`. */
function writeBigFile(path: string, mib: number): void {
  const fd = openSync(path, 'w')
  const block = Buffer.alloc(MIB)
  try {
    for (let n = 0; n < mib; n++) {
      for (let line = 0; line < MIB / 64; line++) block.write(`${String(n).padStart(4, '0')}:${String(line).padStart(5, '0')} ${'compiling module '.padEnd(52, '.')}\n`, line * 64)
      writeSync(fd, block)
    }
  } finally {
    closeSync(fd)
  }
}

/** Wall time in ms of `argv` run in a fresh 120×40 pseudo-terminal whose output is read and counted. */
async function timeInTerminal(argv: string[], env: Record<string, string>): Promise<{ms: number; bytes: number; code: number}> {
  let bytes = 0
  let eof: () => void = () => {}
  const drained = new Promise<void>((resolve) => (eof = resolve))
  const start = performance.now()
  const proc = Bun.spawn(argv, {
    env: {...process.env, NO_COLOR: '1', TERM: 'xterm-256color', ...env},
    terminal: {cols: 120, data: (_terminal, data) => void (bytes += data.length), exit: () => eof(), rows: 40},
  })
  const code = await proc.exited
  await Promise.race([drained, Bun.sleep(2000)])
  const ms = performance.now() - start
  proc.terminal?.close()
  return {bytes, code, ms}
}

/** Runs the benchmark in `scratch` and returns its section of the report. */
export async function benchReplay(repo: string, scratch: string, options: ReplayBenchOptions): Promise<Section> {
  const file = join(scratch, 'big.txt')
  writeBigFile(file, options.fileMiB)
  const home = join(scratch, 'replay-store')
  const sessArgv = (args: string[]) => [process.execPath, join(repo, 'bin', 'run.ts'), ...args]
  const env = {NODE_ENV: 'production', SESS_HOME: home}
  const asciinema = Bun.which('asciinema')
  const cast = join(scratch, 'bench.cast')
  const times = {asciinema: [] as number[], cat: [] as number[], sess: [] as number[]}
  for (let run = 1; run <= options.runs; run++) {
    options.progress(`(g) recording ${options.fileMiB} MiB: run ${run} of ${options.runs}`)
    times.cat.push((await timeInTerminal(['cat', file], env)).ms)
    const recorded = await timeInTerminal(sessArgv(['record', '--quiet', '--name', `bench-${run}`, '--', 'cat', file]), env)
    if (recorded.code !== 0) throw new Error(`sess record exited with ${recorded.code}`)
    times.sess.push(recorded.ms)
    if (asciinema) {
      rmSync(cast, {force: true})
      times.asciinema.push((await timeInTerminal([asciinema, 'rec', '--quiet', '--overwrite', '-c', `cat ${file}`, cast], {})).ms)
    }
  }

  options.progress('(g) replay --no-wait throughput')
  const whole = Bun.spawnSync(sessArgv(['record', '--quiet', '--name', 'bench-whole', '--buffer-limit', `${options.fileMiB + 16}MiB`, '--', 'cat', file]), {
    env: {...process.env, ...env},
    stdout: 'ignore',
  })
  if (whole.exitCode !== 0) throw new Error(`sess record (pipes) exited with ${whole.exitCode}`)
  const replays: number[] = []
  for (let run = 0; run < Math.max(3, options.runs); run++) {
    const start = performance.now()
    const proc = Bun.spawn(sessArgv(['replay', 'bench-whole', '--no-wait']), {env: {...process.env, ...env}, stdout: 'pipe'})
    let bytes = 0
    for await (const chunk of proc.stdout) bytes += chunk.length
    if ((await proc.exited) !== 0 || bytes !== options.fileMiB * MIB) throw new Error(`sess replay wrote ${bytes} bytes, expected ${options.fileMiB * MIB}`)
    replays.push(performance.now() - start)
  }

  const cat = median(times.cat)
  const sess = median(times.sess)
  const rec = asciinema ? median(times.asciinema) : Number.NaN
  const replayMs = median(replays)
  return {
    notes: [
      `${options.fileMiB} MiB of 64-byte lines; each command runs in a fresh 120×40 pseudo-terminal whose output the benchmark reads; wall time, median of ${options.runs}, process start included`,
      `sess record keeps the default 10 MiB buffer (older output evicted as it goes); asciinema rec writes the whole cast file${asciinema ? '' : ' (asciinema is not installed: no figure)'}`,
      `replay: a pipes recording with a buffer holding all ${options.fileMiB} MiB, \`sess replay --no-wait\` into a pipe, median of ${replays.length}, process start included`,
    ],
    rows: [
      {figure: `cat (${options.fileMiB} MiB)`, value: formatMs(cat)},
      {figure: 'sess record -- cat', value: formatMs(sess)},
      {figure: 'asciinema rec -c cat', value: formatMs(rec)},
      {figure: 'sess record / cat', value: formatRatio(sess / cat)},
      asciinema ? atMost('sess record / asciinema rec', sess / rec, 1) : {figure: 'sess record / asciinema rec', value: 'n/a'},
      {figure: `sess replay --no-wait (${options.fileMiB} MiB)`, value: `${formatMs(replayMs)}: ${(options.fileMiB / (replayMs / 1000)).toFixed(0)} MiB/s`},
    ],
    title: `(g) recording ${options.fileMiB} MiB of output: sess record vs cat vs asciinema rec; replay throughput`,
  }
}
