/**
 * Small helpers of the benchmark (`tasks/bench.ts`): timing, percentiles, and the printed table.
 */

/** Milliseconds taken by `work` (synchronous or not). */
export async function timeMs(work: () => unknown): Promise<number> {
  const start = performance.now()
  await work()
  return performance.now() - start
}

/** Milliseconds taken by synchronous `work`. */
export function timeSyncMs(work: () => void): number {
  const start = performance.now()
  work()
  return performance.now() - start
}

/** The `p`th percentile (0–100) of `samples`, nearest-rank; `NaN` when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

/** The median of `samples`. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50)
}

/** A duration in ms, to 3 significant figures (`0.412 ms`, `41.2 ms`, `1.23 s`). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a'
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`
  return `${ms.toPrecision(3)} ms`
}

/** A ratio such as `1.23×`. */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(ratio >= 100 ? 0 : 2)}×` : 'n/a'
}

/** A figure with an optional target: `verdict` is PASS/MISS, or empty when it is informative only. */
export interface Row {
  figure: string
  value: string
  target?: string
  /** `true` PASS, `false` MISS, `undefined` no target. */
  pass?: boolean
}

/** A titled group of rows of the printed table. */
export interface Section {
  title: string
  rows: Row[]
  notes?: string[]
}

/** The sections as a plain-text table (fixed-width columns, no colours: it is pasted into reports). */
export function renderReport(sections: readonly Section[]): string {
  const all = sections.flatMap((section) => section.rows)
  const width = {
    figure: Math.max(6, ...all.map((row) => row.figure.length)),
    target: Math.max(6, ...all.map((row) => (row.target ?? '').length)),
    value: Math.max(5, ...all.map((row) => row.value.length)),
  }
  const line = (figure: string, value: string, target: string, verdict: string) =>
    `  ${figure.padEnd(width.figure)}  ${value.padStart(width.value)}  ${target.padEnd(width.target)}  ${verdict}`.trimEnd()
  const out: string[] = []
  for (const section of sections) {
    out.push('', section.title, line('figure', 'value', 'target', 'verdict'), `  ${'-'.repeat(width.figure + width.value + width.target + 13)}`)
    for (const row of section.rows) out.push(line(row.figure, row.value, row.target ?? '', row.pass === undefined ? '' : row.pass ? 'PASS' : 'MISS'))
    for (const note of section.notes ?? []) out.push(`  · ${note}`)
  }
  return out.join('\n')
}

/** A row for "ratio must be at most `max`". */
export function atMost(figure: string, ratio: number, max: number): Row {
  return {figure, pass: ratio <= max, target: `≤ ${max}×`, value: formatRatio(ratio)}
}

/** A row for "ratio must be at least `min`". */
export function atLeast(figure: string, ratio: number, min: number): Row {
  return {figure, pass: ratio >= min, target: `≥ ${min}×`, value: formatRatio(ratio)}
}
