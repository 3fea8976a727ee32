/**
 * Session files the crash matrix and the disk-full suite save: sess JSONL (the format of
 * `plugins/persistence/src/formats/sess.ts`), made distinct by a tag of the caller's choosing so
 * that saving one is never `unchanged`, and of a size the caller chooses.
 */

/** What {@link sessJsonl} makes. */
export interface SessFile {
  bytes: Uint8Array
  /** Records the file holds (what a save of it must index). */
  records: number
  /** A word that occurs in this file's records and in no other file's: what `store.search` finds it by. */
  word: string
}

/**
 * A sess JSONL session: a header, then `records` messages of about `recordBytes` UTF-8 bytes each
 * (multi-byte text, repetitive enough for zstd to shrink it), all carrying the word
 * `tag` (letters and digits only) so that the file is unique to it.
 *
 * @param tag letters and digits, unique per file.
 */
export function sessJsonl(tag: string, records: number, recordBytes: number): SessFile {
  const word = `w${tag.replaceAll(/[^A-Za-z0-9]/g, '')}`
  const lines = [JSON.stringify({sess: 1, session: {createdAt: 1_765_000_000_000, kind: 'chat', title: `crash input ${tag}`}})]
  for (let seq = 1; seq <= records; seq++) {
    const filler = `línea ${seq} of ${word} ✓ `.repeat(Math.max(1, Math.round(recordBytes / 24)))
    lines.push(JSON.stringify({parts: [{text: filler, type: 'text'}], role: seq % 2 === 1 ? 'user' : 'assistant', ts: 1_765_000_000_000 + seq, type: 'message'}))
  }
  return {bytes: new TextEncoder().encode(`${lines.join('\n')}\n`), records, word}
}
