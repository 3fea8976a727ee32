import type {OutputCode, OutputEvent, Store} from '../../../../src/index.ts'

/** Options of {@link OutputWriter}. */
export interface OutputWriterOptions {
  /**
   * The session's output-buffer bound, in UTF-8 bytes of `data` (`store.outputStats(id).limit`
   * when the recording starts). At most this much waits for the store: older events, which the
   * buffer would evict as soon as they reached it, are evicted before.
   */
  limit: number
  /** Longest an event waits before its batch is written, in ms (default 10). */
  flushMs?: number
  /** Bytes waiting that trigger a write at once, and what one write takes at most (whole events: the one that reaches it is the last), in bytes (default 1 MiB). */
  flushBytes?: number
  /** Told once when the store fails; recording stops, the command runs on. */
  onError?: (error: unknown) => void
}

/** How the store failed a writer: the error, and when (seconds since the recording started, as event times are). */
export interface StoreFailure {
  error: unknown
  time: number
}

/** What an {@link OutputWriter} writes to: a store, or anything with its `appendOutput`. */
export type OutputSink = Pick<Store, 'appendOutput'>

/** An event waiting for the store, with the UTF-8 bytes of its `data`. */
interface Queued {
  event: OutputEvent
  bytes: number
}

/** Evicted slots at the head of the queue worth copying the rest down for. */
const COMPACT_AFTER = 1024

/**
 * Records a live stream of terminal events into a session's output buffer in batches: the events
 * of a few ms (or up to `flushBytes`) go into one transaction, so that recording costs little per
 * event, while each batch is durable within `flushMs` when the store keeps up.
 *
 * Memory is bounded whatever the store's speed, and the writer never blocks: one write is in
 * flight at a time (at most `flushBytes` plus one event), and the events queued behind it hold at
 * most `limit` bytes. When the store falls behind and more is queued, the oldest queued whole
 * events are evicted (the buffer keeps only the newest `limit` bytes anyway), and the next write
 * tells the store about them, which counts them as evicted and spends their sequence numbers. So
 * the writer holds at most about `limit + flushBytes` bytes of events, however long the stream.
 *
 * Times are seconds since the writer was made, from the monotonic clock, to the microsecond.
 * Bytes are decoded as UTF-8 per stream, a character split across two reads kept whole.
 */
export class OutputWriter {
  readonly #store: OutputSink
  readonly #sessionId: string
  readonly #limit: number
  readonly #flushMs: number
  readonly #flushBytes: number
  readonly #onError: (error: unknown) => void
  readonly #start = performance.now()
  readonly #decoders = new Map<OutputCode, TextDecoder>()
  /** Events not yet handed to the store, oldest first, from `#head` on. */
  #queue: (Queued | undefined)[] = []
  #head = 0
  #queuedBytes = 0
  /** Bytes of the write in flight. */
  #writingBytes = 0
  /** Evicted from the queue, not yet told to the store. */
  #evicted = {bytes: 0, events: 0}
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Whether what is queued should be written as soon as the write in flight is done. */
  #due = false
  /** The writer loop, while it runs. */
  #writing: Promise<void> | undefined
  #failure: StoreFailure | undefined
  /** Events and UTF-8 bytes of `data` recorded so far: written to the store, or counted there as evicted. */
  events = 0
  bytes = 0

  constructor(store: OutputSink, sessionId: string, options: OutputWriterOptions) {
    this.#store = store
    this.#sessionId = sessionId
    this.#limit = options.limit
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

  /** Adds an event at the current time, evicting the oldest queued ones beyond the bound. Empty output is dropped. */
  push(code: OutputCode, data: string, time = this.now()): void {
    if (this.#failure || (data === '' && (code === 'o' || code === 'e' || code === 'i'))) return
    const bytes = Buffer.byteLength(data, 'utf8')
    this.#queue.push({bytes, event: {code, data, time}})
    this.#queuedBytes += bytes
    while (this.#queuedBytes > this.#limit) this.#evictOldest()
    if (this.#queuedBytes >= this.#flushBytes) void this.flush()
    else this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs)
  }

  /**
   * Writes what is queued now, in batches one after another, in order. Resolves when it is
   * durable (once the writer has nothing due). Never rejects: a failure goes to `onError`.
   */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#writing) {
      this.#due = true
      return this.#writing
    }
    if (this.#failure || !this.#pending()) return Promise.resolve()
    this.#due = true
    // #drain awaits before it ends (there is something to write, see #append), so it clears #writing after this.
    this.#writing = this.#drain()
    return this.#writing
  }

  /** Ends every stream (a dangling partial character becomes U+FFFD) and writes all that is pending. */
  async close(): Promise<void> {
    for (const [code, decoder] of this.#decoders) this.push(code, decoder.decode())
    await this.flush()
  }

  /** How the store failed, if it did: what came after was not recorded. */
  get failure(): StoreFailure | undefined {
    return this.#failure
  }

  /** UTF-8 bytes of `data` of the events not yet in the store: queued (at most `limit`) and in the write in flight. */
  get pendingBytes(): number {
    return this.#queuedBytes + this.#writingBytes
  }

  /** The writer loop: one write at a time, each taking the oldest queued events, while writes are due. */
  async #drain(): Promise<void> {
    try {
      while (this.#due && !this.#failure && this.#pending()) {
        const batch = this.#take()
        const evicted = this.#evicted
        this.#evicted = {bytes: 0, events: 0}
        try {
          await this.#append(batch, evicted)
          this.events += batch.length + evicted.events
          this.bytes += this.#writingBytes + evicted.bytes
        } catch (error) {
          this.#fail(error)
        } finally {
          this.#writingBytes = 0
        }
      }
    } finally {
      this.#writing = undefined
    }
  }

  /** Hands one batch to the store; as an async function it always suspends the loop, even for a store that throws at once. */
  async #append(batch: OutputEvent[], evicted: {bytes: number; events: number}): Promise<void> {
    await this.#store.appendOutput(this.#sessionId, batch, evicted.events > 0 ? {evicted} : {})
  }

  /** Whether anything waits for the store: queued events, or evictions it has not been told of. */
  #pending(): boolean {
    return this.#head < this.#queue.length || this.#evicted.events > 0
  }

  /** Takes the oldest queued events, until they reach `flushBytes` (or the queue ends), for the next write. */
  #take(): OutputEvent[] {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const batch: OutputEvent[] = []
    let bytes = 0
    while (this.#head < this.#queue.length && bytes < this.#flushBytes) {
      const next = this.#queue[this.#head]!
      batch.push(next.event)
      bytes += next.bytes
      this.#queue[this.#head++] = undefined
    }
    this.#queuedBytes -= bytes
    this.#writingBytes = bytes
    if (this.#head === this.#queue.length) this.#due = false
    this.#compact()
    return batch
  }

  /** Drops the oldest queued event, counting it as evicted. */
  #evictOldest(): void {
    const oldest = this.#queue[this.#head]!
    this.#queue[this.#head++] = undefined
    this.#queuedBytes -= oldest.bytes
    this.#evicted.events += 1
    this.#evicted.bytes += oldest.bytes
    this.#compact()
  }

  /** Frees the queue's emptied head slots once they are many. */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  /** Stops recording after the store failed: drops what waits, and says so once. */
  #fail(error: unknown): void {
    this.#failure = {error, time: this.now()}
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue = []
    this.#head = 0
    this.#queuedBytes = 0
    this.#evicted = {bytes: 0, events: 0}
    this.#onError(error)
  }
}
