import type {DetectInput, FormatAdapter} from '../../../../src/session/format.ts'
import {asciicastFormat} from './asciicast.ts'
import {claudeCodeFormat} from './claude-code.ts'
import {codexFormat} from './codex.ts'
import {geminiCliFormat} from './gemini-cli.ts'
import {markdownFormat} from './markdown.ts'
import {RAW_FORMAT, rawFormat} from './raw.ts'
import {sessFormat} from './sess.ts'

/**
 * The format adapters sess ships with (DESIGN §6): sess JSONL, Claude Code, Codex, Gemini CLI,
 * asciicast, Markdown (export only) and the raw fallback. Plugins add theirs to this list.
 */
export const builtinFormats: readonly FormatAdapter[] = [
  sessFormat,
  claudeCodeFormat,
  codexFormat,
  geminiCliFormat,
  asciicastFormat,
  markdownFormat,
  rawFormat,
]

/** A detected format and how sure its adapter is (1–100). */
export interface DetectedFormat {
  adapter: FormatAdapter
  confidence: number
}

/** Options of {@link detectFormat}. */
export interface DetectOptions {
  /** Whether the raw fallback may be picked (files named on the command line: yes; directory imports: no). */
  allowRaw: boolean
}

/**
 * The adapter of `formats` most confident that `input` is its format (confidence above 0; the
 * first in list order on a tie), or `undefined` when none is. The raw fallback takes part only with
 * `allowRaw`. An adapter whose `detect` throws counts as 0.
 */
export function detectFormat(input: DetectInput, formats: readonly FormatAdapter[], options: DetectOptions): DetectedFormat | undefined {
  let best: DetectedFormat | undefined
  for (const adapter of formats) {
    if (adapter.detect === undefined || (adapter.name === RAW_FORMAT && !options.allowRaw)) continue
    let confidence: number
    try {
      confidence = adapter.detect(input)
    } catch {
      confidence = 0
    }
    if (confidence > (best?.confidence ?? 0)) best = {adapter, confidence}
  }
  return best
}

/** The adapter of `formats` named `name` (as given to `--format`), if any. */
export function findFormat(name: string, formats: readonly FormatAdapter[]): FormatAdapter | undefined {
  return formats.find((adapter) => adapter.name === name)
}
