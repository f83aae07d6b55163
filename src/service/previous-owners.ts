/**
 * Fences the previous owners of the shards this instance takes. A fence counts for a shard only if
 * it began after the shard's epoch was raised (the fenced owner's next initialisation must find the
 * shard lost), so shards taken from one owner in one assignment share one fence, begun after the
 * last of them was taken, while a fence begun earlier is never reused.
 */
export class PreviousOwners {
  #fence: (ids: string[]) => Promise<void>
  #tick = 0
  #fences = new Map<string, { begun: number; done: Promise<void> }>()

  constructor(fence: (ids: string[]) => Promise<void>) {
    this.#fence = fence
  }

  /** Call right after a shard's epoch was raised; pass the value to fence(). */
  taken(): number {
    return ++this.#tick
  }

  /** Resolves once `ids` (keyed by what holds them) were initialised by a fence begun after `takenAt`. */
  async fence(key: string, ids: string[], takenAt: number): Promise<void> {
    if (ids.length === 0) return
    for (;;) {
      const known = this.#fences.get(key)
      if (!known || known.begun <= takenAt) break
      if (
        await known.done.then(
          () => true,
          () => false,
        )
      )
        return
      // It failed: begin another, unless someone did meanwhile.
      if (this.#fences.get(key) === known) this.#fences.delete(key)
    }
    const begun = ++this.#tick
    const done = this.#fence(ids)
    this.#fences.set(key, { begun, done })
    await done
  }
}
