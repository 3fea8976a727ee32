import type {OutputCode, OutputEvent, Store} from '../../../../src/index.ts'

/** Options of {@link OutputWriter}. */
export interface OutputWriterOptions {
  /** Longest an event waits before its batch is written, in ms (default 10). */
  flushMs?: number
  /** Pending bytes that trigger a write at once, in bytes (default 1 MiB). */
  flushBytes?: number
  /** Told once when the store fails; recording stops, the command runs on. */
  onError?: (error: unknown) => void
}

/**
 * Records a live stream of terminal events into a session's output buffer in batches: the events
 * of a few ms (or a few hundred KiB) go into one transaction, so that recording costs little per
 * event, while each batch is durable within `flushMs`. Memory is bounded: at most `flushBytes`
 * (plus one chunk) wait at a time, since a batch is written as soon as they are reached.
 *
 * Times are seconds since the writer was made, from the monotonic clock, to the microsecond.
 * Bytes are decoded as UTF-8 per stream, a character split across two reads kept whole.
 */
export class OutputWriter {
  readonly #store: Store
  readonly #sessionId: string
  readonly #flushMs: number
  readonly #flushBytes: number
  readonly #onError: (error: unknown) => void
  readonly #start = performance.now()
  readonly #decoders = new Map<OutputCode, TextDecoder>()
  #pending: OutputEvent[] = []
  #pendingBytes = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #writing: Promise<void> = Promise.resolve()
  #failed = false
  /** Events and bytes (of `data`) handed to the store so far. */
  events = 0
  bytes = 0

  constructor(store: Store, sessionId: string, options: OutputWriterOptions = {}) {
    this.#store = store
    this.#sessionId = sessionId
    this.#flushMs = options.flushMs ?? 10
    this.#flushBytes = options.flushBytes ?? 1024 * 1024
    this.#onError = options.onError ?? (() => {})
  }

  /** Seconds since the recording started. */
  now(): number {
    return Math.round((performance.now() - this.#start) * 1000) / 1e6
  }

  /** Adds raw bytes of stream `code` (`o`, `e` or `i`), decoded as UTF-8 (an incomplete character waits for the next chunk). */
  bytesOf(code: 'o' | 'e' | 'i', chunk: Uint8Array): void {
    let decoder = this.#decoders.get(code)
    if (!decoder) this.#decoders.set(code, (decoder = new TextDecoder('utf-8')))
    this.push(code, decoder.decode(chunk, {stream: true}))
  }

  /** Adds an event at the current time. Empty output is dropped. */
  push(code: OutputCode, data: string, time = this.now()): void {
    if (this.#failed || (data === '' && (code === 'o' || code === 'e' || code === 'i'))) return
    this.#pending.push({code, data, time})
    this.#pendingBytes += data.length
    if (this.#pendingBytes >= this.#flushBytes) this.flush()
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushMs)
  }

  /** Writes what is pending now (batches are written one after another, in order). Resolves when it is durable. */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.length === 0) return this.#writing
    const batch = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    this.#writing = this.#writing.then(async () => {
      if (this.#failed) return
      try {
        await this.#store.appendOutput(this.#sessionId, batch)
        this.events += batch.length
        for (const event of batch) this.bytes += Buffer.byteLength(event.data, 'utf8')
      } catch (error) {
        this.#failed = true
        this.#onError(error)
      }
    })
    return this.#writing
  }

  /** Ends every stream (a dangling partial character becomes U+FFFD) and writes all that is pending. */
  async close(): Promise<void> {
    for (const [code, decoder] of this.#decoders) this.push(code, decoder.decode())
    await this.flush()
  }

  /** Whether the store failed (what came after was not recorded). */
  get failed(): boolean {
    return this.#failed
  }
}
