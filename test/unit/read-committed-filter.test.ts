import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createRecordsBatch, jsCRC32C, Reader, type RecordsBatch, readRecordsBatches } from '@platformatic/kafka'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { checkKafkaClient } from '../../src/kafka/client-check.ts'

// The read_committed filter of the installed client (offerstream's vendored build, see
// tools/kafka-client/), fed fetch responses without a broker. The record batches are the client's
// own bytes (createRecordsBatch), given their offsets and control attributes as a broker would, and
// read back with its fetch decoder (readRecordsBatches). A consumer reads what the filter leaves in
// non-control batches, and moves its fetch offset past the last batch of the response.

type Partition = { partitionIndex: number; abortedTransactions: { producerId: bigint; firstOffset: bigint }[]; records: RecordsBatch[] }
type FetchResponse = { responses: { topicId: string; partitions: Partition[] }[] }
type Filter = (response: FetchResponse) => void

const { filterUncommittedMessages } = (await import(
  new URL('./clients/consumer/read-committed.js', import.meta.resolve('@platformatic/kafka')).href
)) as {
  filterUncommittedMessages: Filter
}

const IS_TRANSACTIONAL = 0x10
const IS_CONTROL = 0x20
const P1 = 1001n
const P2 = 1002n
const PLAIN = -1n // a producer without transactions

/** One batch of the log: records of a producer (their keys), or one producer's abort or commit marker. */
type Entry = { pid: bigint; keys: string[] } | { pid: bigint; marker: 'abort' | 'commit' }
const data = (pid: bigint, ...keys: string[]): Entry => ({ pid, keys })
const abort = (pid: bigint): Entry => ({ pid, marker: 'abort' })
const commit = (pid: bigint): Entry => ({ pid, marker: 'commit' })

function encode(entry: Entry, firstOffset: bigint): Buffer {
  const control = 'marker' in entry
  const keys = control ? [Buffer.from([0, 0, 0, entry.marker === 'abort' ? 0 : 1])] : entry.keys.map(k => Buffer.from(k))
  const messages = keys.map(key => ({ topic: 't', partition: 0, key, value: Buffer.from('v'), headers: new Map(), timestamp: 1n }))
  const transactional = entry.pid !== PLAIN
  const bytes = Buffer.from(
    createRecordsBatch(messages as never, transactional ? { producerId: entry.pid, producerEpoch: 0, transactionalId: 'tx' } : {}).buffer,
  )
  bytes.writeBigInt64BE(firstOffset, 0)
  // attributes (int16 at 21) and the CRC-32C over everything from them (uint32 at 17)
  bytes.writeInt16BE((transactional ? IS_TRANSACTIONAL : 0) | (control ? IS_CONTROL : 0), 21)
  bytes.writeUInt32BE(jsCRC32C(bytes.subarray(21)) >>> 0, 17)
  return bytes
}

/**
 * The fetch response a broker gives for batches [from, to) of the log: those batches, and every
 * aborted transaction of the whole log that overlaps them (the broker knows it was aborted even
 * when its marker is beyond the response).
 */
function fetchResponse(log: Entry[], from = 0, to = log.length): FetchResponse {
  const offsets: bigint[] = []
  const aborted: { producerId: bigint; firstOffset: bigint; lastOffset: bigint }[] = []
  const open = new Map<bigint, bigint>()
  let next = 0n
  for (const entry of log) {
    offsets.push(next)
    if ('marker' in entry) {
      const first = open.get(entry.pid)
      if (entry.marker === 'abort' && first !== undefined) aborted.push({ producerId: entry.pid, firstOffset: first, lastOffset: next })
      open.delete(entry.pid)
      next += 1n
    } else {
      if (entry.pid !== PLAIN && !open.has(entry.pid)) open.set(entry.pid, next)
      next += BigInt(entry.keys.length)
    }
  }
  const bytes = Buffer.concat(log.slice(from, to).map((entry, i) => encode(entry, offsets[from + i]!)))
  const lo = offsets[from]!
  const hi = to < log.length ? offsets[to]! : next
  const abortedTransactions = aborted
    .filter(t => t.firstOffset < hi && t.lastOffset >= lo)
    .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }))
  const records = readRecordsBatches(Reader.from(bytes))
  return { responses: [{ topicId: 't', partitions: [{ partitionIndex: 0, abortedTransactions, records }] }] }
}

/** What a consumer reads from the filtered response: keys in offset order, and where it fetches next. */
function consume(response: FetchResponse, filter: Filter = filterUncommittedMessages): { keys: string[]; nextOffset: bigint } {
  filter(response)
  const batches = response.responses[0]!.partitions[0]!.records
  const keys = batches.filter(b => !(b.attributes & IS_CONTROL)).flatMap(b => b.records.map(r => String(r.key)))
  const last = batches[batches.length - 1]!
  return { keys, nextOffset: last.firstOffset + BigInt(last.lastOffsetDelta) + 1n }
}

test('one producer, abort / commit / abort / commit: only the committed transactions come out', () => {
  const log = [
    data(P1, 'a0', 'a1'),
    data(P1, 'a2'),
    abort(P1),
    data(P1, 'b0'),
    commit(P1),
    data(P1, 'c0'),
    data(P1, 'c1', 'c2'),
    abort(P1),
    data(P1, 'd0', 'd1'),
    commit(P1),
  ]
  assert.deepEqual(consume(fetchResponse(log)), { keys: ['b0', 'd0', 'd1'], nextOffset: 13n })
})

test('an abort marker beyond the response: its records are dropped here, and the next response goes on after it', () => {
  const log = [data(P1, 'b0'), commit(P1), data(P1, 'x0'), data(P1, 'x1'), abort(P1), data(P1, 'y0'), commit(P1)]
  // The response ends after x1 (e.g. at maxBytes); x's abort marker is at offset 4.
  assert.deepEqual(consume(fetchResponse(log, 0, 4)), { keys: ['b0'], nextOffset: 4n })
  assert.deepEqual(consume(fetchResponse(log, 4)), { keys: ['y0'], nextOffset: 7n })
})

test('a response of only aborted records yields nothing and still moves the fetch offset past them', () => {
  const log = [data(P1, 'x0', 'x1'), data(P1, 'x2'), data(P1, 'x3'), abort(P1), data(P1, 'ok'), commit(P1)]
  assert.deepEqual(consume(fetchResponse(log, 0, 3)), { keys: [], nextOffset: 4n })
  assert.deepEqual(consume(fetchResponse(log, 0, 4)), { keys: [], nextOffset: 5n })
  assert.deepEqual(consume(fetchResponse(log, 3)), { keys: ['ok'], nextOffset: 7n })
})

test('two interleaved producers (and records outside transactions): each producer’s aborts drop only its own records', () => {
  const log = [
    data(P1, 'p1-a0'),
    data(P2, 'p2-a0'),
    data(PLAIN, 'plain-0'),
    data(P1, 'p1-a1'),
    data(P2, 'p2-a1'),
    abort(P1),
    data(P2, 'p2-a2'),
    commit(P2),
    data(P2, 'p2-b0'),
    data(P1, 'p1-b0'),
    data(PLAIN, 'plain-1'),
    abort(P2),
    data(P1, 'p1-b1'),
    commit(P1),
  ]
  const expected = ['p2-a0', 'plain-0', 'p2-a1', 'p2-a2', 'p1-b0', 'plain-1', 'p1-b1']
  assert.deepEqual(consume(fetchResponse(log)), { keys: expected, nextOffset: 14n })
  // The order of the aborted transactions in the response does not matter.
  const reversed = fetchResponse(log)
  reversed.responses[0]!.partitions[0]!.abortedTransactions.reverse()
  assert.deepEqual(consume(reversed).keys, expected)
  // Cut in the middle: P2's aborted p2-b0 is dropped before its marker arrives.
  assert.deepEqual(consume(fetchResponse(log, 0, 10)).keys, ['p2-a0', 'plain-0', 'p2-a1', 'p2-a2', 'p1-b0'])
  assert.deepEqual(consume(fetchResponse(log, 10)).keys, ['plain-1', 'p1-b1'])
})

// The start-up check (src/kafka/client-check.ts) on the installed client, and on stand-in clients
// with the read_committed filter missing or wrong.

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const CALLS_MODULE = 'export class Consumer { f(response) { filterUncommittedMessages(response) } }'
// As 2.12.1's Consumer: its own private filter, whatever the module holds.
const CALLS_OWN = 'export class Consumer { #filterUncommittedMessages(r) {} f(response) { this.#filterUncommittedMessages(response) } }'

/** A stand-in client package: its Consumer, and its read-committed.js module (`filterSource`) or none. */
function standInClient(filterSource: string | null, consumer = CALLS_MODULE): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'offerstream-client-check-'))
  dirs.push(dir)
  mkdirSync(path.join(dir, 'dist/clients/consumer'), { recursive: true })
  writeFileSync(path.join(dir, 'package.json'), '{ "name": "stand-in-kafka", "version": "0.0.1", "type": "module" }')
  const imports = "import { filterUncommittedMessages } from './clients/consumer/read-committed.js'\n"
  writeFileSync(path.join(dir, 'dist/index.js'), `${filterSource === null ? '' : imports}${consumer}\n`)
  if (filterSource !== null) writeFileSync(path.join(dir, 'dist/clients/consumer/read-committed.js'), filterSource)
  return pathToFileURL(path.join(dir, 'dist/index.js')).href
}

// As 2.12.1 filters (rewritten here): one aborted range per producer, the last one listed; a range
// without its abort marker in the response is ignored; filtered batches are removed.
const LIKE_2_12_1 = `export function filterUncommittedMessages(response) {
  for (const topic of response.responses) for (const p of topic.partitions) {
    const ranges = new Map(p.abortedTransactions.map(t => [t.producerId, [t.firstOffset, -1n]]))
    for (const b of p.records) if (b.attributes & 0x20 && b.records[0].key.readInt16BE(2) === 0 && ranges.has(b.producerId)) ranges.get(b.producerId)[1] = b.firstOffset
    p.records = p.records.filter(b => { const r = ranges.get(b.producerId); return !r || r[1] === -1n || b.firstOffset < r[0] || b.firstOffset >= r[1] })
  }
}
`
// Right records, batches kept (enough for the check's one response).
const LIKE_FIXED = `export function filterUncommittedMessages(response) {
  for (const topic of response.responses) for (const p of topic.partitions) for (const b of p.records) if (b.firstOffset !== 3n && !(b.attributes & 0x20)) b.records = []
}
`
// Right records, but aborted batches are removed instead of emptied.
const DROPS_BATCHES = `export function filterUncommittedMessages(response) {
  for (const topic of response.responses) for (const p of topic.partitions) p.records = p.records.filter(b => b.firstOffset === 3n || b.attributes & 0x20)
}
`

async function refusal(entry: string): Promise<OfferstreamError> {
  const error = await checkKafkaClient(entry).then(
    () => assert.fail('the check accepted the client'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof OfferstreamError)
  assert.equal(error.code, ErrorCodes.KAFKA_CLIENT_UNPATCHED)
  assert.equal(error.retryable, false)
  assert.match(error.message, /stand-in-kafka@0\.0\.1 .* is not offerstream's patched build/)
  assert.match(error.message, /Fix: run `npm ci` in the offerstream checkout/)
  return error
}

test('the start-up check accepts the installed client and refuses clients whose read_committed filter is missing or wrong', async () => {
  await checkKafkaClient()
  assert.match((await refusal(standInClient(null, CALLS_OWN))).message, /it has no patched read_committed filter/)
  assert.match((await refusal(standInClient(LIKE_FIXED, CALLS_OWN))).message, /its Consumer does not call the patched/)
  assert.match((await refusal(standInClient(LIKE_2_12_1))).message, /its filter returned offsets \[0, 1, 3, 5\]/)
  assert.match((await refusal(standInClient(DROPS_BATCHES))).message, /removes aborted batches/)
})

test('the buggy filter the check refuses fails the fetch responses above, so they are worth feeding', async () => {
  const url = new URL('dist/clients/consumer/read-committed.js', standInClient(LIKE_2_12_1).replace('dist/index.js', ''))
  const { filterUncommittedMessages: buggy } = (await import(url.href)) as { filterUncommittedMessages: Filter }
  const log = [data(P1, 'a0'), abort(P1), data(P1, 'b0'), commit(P1), data(P1, 'c0'), abort(P1)]
  assert.deepEqual(consume(fetchResponse(log), buggy).keys, ['a0', 'b0'])
  assert.deepEqual(consume(fetchResponse(log), filterUncommittedMessages).keys, ['b0'])
})
