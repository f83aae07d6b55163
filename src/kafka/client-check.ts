import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ErrorCodes, OfferstreamError } from '../errors.ts'

// @platformatic/kafka 2.12.1 lets records of aborted transactions through a read_committed
// consumer, so offerstream depends on a patched build of it (vendor/, tools/kafka-client/). A client
// installed any other way (from the registry, a nested copy, an image built without vendor/) would
// run without a sign of trouble and ingest aborted campaigns, so `offerstream run` feeds the
// installed client's filter one fetch response before it connects, and refuses to start when
// aborted records come out.

const FIX =
  'run `npm ci` in the offerstream checkout, which installs the build package.json names ' +
  '(file:vendor/platformatic-kafka-2.12.1-offerstream.2.tgz, made by tools/kafka-client/build-vendored.mjs); ' +
  '@platformatic/kafka from the npm registry is not patched'

interface ProbeBatch {
  firstOffset: bigint
  lastOffsetDelta: number
  attributes: number
  producerId: bigint
  records: { offsetDelta: number; key: Buffer | null }[]
}

const TRANSACTIONAL = 0x10
const CONTROL = 0x20

function batch(firstOffset: bigint, count: number, kind: 'data' | 'abort' | 'commit'): ProbeBatch {
  const control = kind !== 'data'
  return {
    firstOffset,
    lastOffsetDelta: count - 1,
    attributes: TRANSACTIONAL | (control ? CONTROL : 0),
    producerId: 7n,
    records: Array.from({ length: count }, (_, i) => ({
      offsetDelta: i,
      // A control record's key is (version int16, type int16): type 0 aborts, 1 commits.
      key: control ? Buffer.from([0, 0, 0, kind === 'abort' ? 0 : 1]) : null,
    })),
  }
}

/**
 * One producer: an aborted transaction (0-1, marker 2), a committed one (3, marker 4) and an
 * aborted one whose marker lies beyond the response (5). Only offset 3 may come out, and every
 * batch must stay, or the fetch offset would not move past the aborted ones.
 */
function probeResponse() {
  const records = [batch(0n, 2, 'data'), batch(2n, 1, 'abort'), batch(3n, 1, 'data'), batch(4n, 1, 'commit'), batch(5n, 1, 'data')]
  const abortedTransactions = [
    { producerId: 7n, firstOffset: 0n },
    { producerId: 7n, firstOffset: 5n },
  ]
  return { responses: [{ topicId: 'probe', partitions: [{ partitionIndex: 0, abortedTransactions, records }] }] }
}

/** What is wrong with the client's read_committed filter, or null when it filters as it must. */
async function filterProblem(entry: string): Promise<string | null> {
  const modulePath = 'dist/clients/consumer/read-committed.js'
  let filter: unknown
  try {
    filter = ((await import(new URL('./clients/consumer/read-committed.js', entry).href)) as { filterUncommittedMessages?: unknown })
      .filterUncommittedMessages
  } catch {
    filter = undefined
  }
  if (typeof filter !== 'function') return `it has no patched read_committed filter (${modulePath} with filterUncommittedMessages)`
  const { Consumer } = (await import(entry)) as { Consumer?: unknown }
  // The patched Consumer calls the module's function; the unpatched one its own #filterUncommittedMessages.
  if (typeof Consumer !== 'function' || !/[^#.\w]filterUncommittedMessages\(response\)/.test(Consumer.toString())) {
    return `its Consumer does not call the patched read_committed filter of ${modulePath}`
  }
  const response = probeResponse()
  const partition = response.responses[0]!.partitions[0]!
  filter(response)
  const out = partition.records
    .filter(b => !(b.attributes & CONTROL))
    .flatMap(b => b.records.map(r => b.firstOffset + BigInt(r.offsetDelta)))
  if (out.join() !== '3') {
    return `fed a fetch response with the committed record 3 between aborted records 0, 1 and 5, its filter returned offsets [${out.join(', ')}]`
  }
  if (partition.records.length !== 5)
    return 'its filter removes aborted batches, so a fetch holding only aborted records would never advance'
  return null
}

function describe(entry: string): string {
  const pkgUrl = new URL('../package.json', entry)
  try {
    const { name, version } = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { name?: string; version?: string }
    return `${name}@${version} in ${fileURLToPath(new URL('.', pkgUrl))}`
  } catch {
    return fileURLToPath(entry)
  }
}

/**
 * Refuses (KAFKA_CLIENT_UNPATCHED, exit 2) a Kafka client whose read_committed consumer would let
 * records of aborted transactions through. `entry` is the client's main module, as this service
 * resolves it.
 */
export async function checkKafkaClient(entry: string = import.meta.resolve('@platformatic/kafka')): Promise<void> {
  const problem = await filterProblem(entry)
  if (problem === null) return
  throw new OfferstreamError(
    ErrorCodes.KAFKA_CLIENT_UNPATCHED,
    `the Kafka client ${describe(entry)} is not offerstream's patched build: ${problem}. ` +
      'offerstream refuses it because @platformatic/kafka 2.12.1 as published lets records of aborted ' +
      `transactions through read_committed consumers. Fix: ${FIX}.`,
  )
}
