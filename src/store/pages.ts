/**
 * Rows read per query when streaming a transcript or output buffer. Pages (not one cursor) keep
 * the connection free between them, so a caller may write to the store while it iterates.
 */
export const PAGE = 256

/**
 * The rows `fetch` gives page after page (keyset pagination on `seq`), from `seq` > `after` until
 * a short page. `fetch(last)` returns at most {@link PAGE} rows with `seq` > `last`, in order.
 */
export async function* inPages<T extends {seq: number}>(after: number, fetch: (last: number) => Promise<T[]>): AsyncGenerator<T> {
  for (let last = after; ; ) {
    const page = await fetch(last)
    yield* page
    if (page.length < PAGE) return
    last = Number(page.at(-1)!.seq)
  }
}
