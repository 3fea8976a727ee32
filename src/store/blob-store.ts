/** What the store keeps of one blob: where, how big, and its SHA-256. */
export interface BlobRef {
  /** Name of the blob within its session (opaque to callers). */
  blob: string
  /** SHA-256 of the bytes, lowercase hex. */
  sha256: string
  /** Size in bytes. */
  bytes: number
}

/**
 * Durable storage of immutable byte strings (saved originals, snapshots), per session. A blob is
 * wholly there or not there after a crash at any instant. The persistence plugin provides the
 * file implementation; the index (metadata database) says which blobs are live.
 */
export interface BlobStore {
  /** Writes `bytes` durably; returns once they survive a crash. */
  put(sessionId: string, bytes: Uint8Array): Promise<BlobRef>
  /**
   * Reads a blob back and checks its SHA-256.
   *
   * @throws {StorageError} when it is missing or its checksum does not match.
   */
  get(sessionId: string, ref: BlobRef): Promise<Uint8Array>
  /** Deletes one blob; a missing one is not an error. */
  delete(sessionId: string, blob: string): Promise<void>
  /** Deletes every blob of a session. */
  deleteSession(sessionId: string): Promise<void>
}

/** SHA-256 of `bytes`, lowercase hex, as {@link BlobRef.sha256} holds it. */
export function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
}
