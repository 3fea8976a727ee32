import {writeAll} from '../../../src/os/write-all.ts'

const encoder = new TextEncoder()

/**
 * Output to `fd` that survives its reader going away: the first write that fails with `EPIPE`
 * (a pipe whose reader exited, as in `| head`) or `EIO` (a terminal that was closed) calls
 * `onBroken` once, and later writes are dropped. Other errors are thrown.
 */
export class Passthrough {
  readonly #fd: number
  readonly #onBroken: () => void
  #broken = false

  constructor(fd: number, onBroken: () => void = () => {}) {
    this.#fd = fd
    this.#onBroken = onBroken
  }

  /** Whether the reader went away. */
  get broken(): boolean {
    return this.#broken
  }

  /** Writes all of `data` (see `writeAll`) unless the reader went away. */
  write(data: Uint8Array | string): void {
    if (this.#broken) return
    try {
      writeAll(this.#fd, typeof data === 'string' ? encoder.encode(data) : data)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EPIPE' && code !== 'EIO') throw error
      this.#broken = true
      this.#onBroken()
    }
  }
}

/** DEC private modes a recording may leave set, with the sequence that resets each. */
const MODE_RESETS: Readonly<Record<string, string>> = {
  '1': '\u001b[?1l\u001b>', // application cursor keys (and keypad)
  '25': '\u001b[?25h', // cursor hidden (reset: shown)
  '47': '\u001b[?47l', // alternate screen
  '1000': '\u001b[?1000l', // mouse tracking
  '1002': '\u001b[?1002l',
  '1003': '\u001b[?1003l',
  '1006': '\u001b[?1006l',
  '1047': '\u001b[?1047l',
  '1049': '\u001b[?1049l',
  '2004': '\u001b[?2004l', // bracketed paste
}

/** Modes whose default is set (`h`); all others default to reset (`l`). */
const SET_BY_DEFAULT: ReadonlySet<string> = new Set(['25'])

/**
 * Follows the terminal modes a stream of output sets (DEC private modes: alternate screen, cursor
 * visibility, mouse, bracketed paste, cursor keys), so that a replay cut short can put the
 * terminal back: {@link TerminalModes.reset} gives the sequences that undo what is still set,
 * plus SGR reset (colours, bold…).
 */
export class TerminalModes {
  readonly #changed = new Map<string, boolean>()

  /** Notes the mode changes in `data` (a sequence split across two calls is missed; resets are cheap anyway). */
  track(data: string): void {
    if (!data.includes('\u001b[?')) return
    for (const match of data.matchAll(/\u001b\[\?([\d;]+)([hl])/g)) {
      for (const mode of match[1]!.split(';')) {
        if (mode in MODE_RESETS) this.#changed.set(mode, (match[2] === 'h') !== SET_BY_DEFAULT.has(mode))
      }
    }
  }

  /** The bytes that return the terminal to its defaults for every mode left changed, and reset colours. */
  reset(): string {
    let text = '\u001b[0m'
    for (const [mode, changed] of this.#changed) if (changed) text += MODE_RESETS[mode]
    return text
  }
}
