// The partition Kafka's Java producer picks for a keyed record: toPositive(murmur2(key bytes)) mod
// partitions (org.apache.kafka.clients.producer.internals.BuiltInPartitioner). The relay computes it
// itself for every push because the client's own partitioner is its largest single cost per record:
// it hashes with BigInt arithmetic (~18 % of the relay's CPU in a 200,000-push profile) and masks with
// `>>> 0` instead of Java's `& 0x7fffffff`, which put half of all keys on another partition than a
// Java (or Spark) producer of the same topic would. Math.imul keeps every step in 32 bits, as Java does.

const SEED = 0x9747b28c
const M = 0x5bd1e995
const encoder = new TextEncoder()
// Keys are client ids (36 ASCII bytes); any key up to 256 UTF-8 bytes is hashed without allocating.
const scratch = new Uint8Array(256)

/** Kafka's murmur2 (Utils.murmur2) of the first `length` bytes, as a signed 32-bit integer. @internal exported for its unit test */
export function murmur2(data: Uint8Array, length = data.length): number {
  let h = SEED ^ length
  const whole = length - (length & 3)
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: Java's tail, case 3 falls through to 1
    case 3:
      h ^= data[whole + 2]! << 16
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      h ^= data[whole + 1]! << 8
    case 1:
      h ^= data[whole]!
      h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** The partition the Java producer's default partitioner gives `key` among `partitions`. */
export function keyPartition(key: string | Uint8Array, partitions: number): number {
  let hash: number
  if (typeof key !== 'string') hash = murmur2(key)
  else if (key.length * 3 <= scratch.length) hash = murmur2(scratch, encoder.encodeInto(key, scratch).written)
  else hash = murmur2(encoder.encode(key))
  return (hash & 0x7fffffff) % partitions
}
