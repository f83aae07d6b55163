import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { createRecord, createRecordsBatch, jsCRC32C } from '@platformatic/kafka'

// offerstream's vendored build of the client (tools/kafka-client/edits.mjs) replaces how it lays
// out a batch's records (one buffer, sized first). The client's own per-record encoder,
// createRecord, is left in place: a patched batch must end with exactly the bytes it gives, record
// after record.
type Message = { topic: string; partition: number; key?: Buffer; value?: Buffer; headers: Map<Buffer, Buffer>; timestamp: bigint }

function messages(count: number, base: bigint): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: 't',
    partition: 0,
    key: i % 5 === 1 ? undefined : randomBytes(i % 3 === 0 ? 36 : 200),
    value: i % 7 === 2 ? undefined : randomBytes(i === 3 ? 70000 : 450),
    headers: i % 4 === 0 ? new Map([[Buffer.from(`h${i}`), randomBytes(i % 8 === 0 ? 0 : 20)]]) : new Map(),
    timestamp: base + BigInt(i * 37),
  }))
}

function expectedRecords(batch: Message[]): Buffer {
  const first = batch[0]!.timestamp
  return Buffer.concat(batch.map((m, i) => Buffer.from(createRecord(m as never, i, first).buffer)))
}

test('a batch holds the bytes of the client record encoder, with keys, values and headers absent, empty and large', () => {
  const source = readFileSync(new URL('./protocol/records.js', import.meta.resolve('@platformatic/kafka')), 'utf8')
  assert.ok(source.includes('offerstream flat records patch v1'), 'the record-encoding edit is missing: run npm ci (vendored client)')
  const crc = readFileSync(new URL('./protocol/crc32c.js', import.meta.resolve('@platformatic/kafka')), 'utf8')
  assert.ok(crc.includes('offerstream chained crc patch v1'), 'the CRC edit is missing: run npm ci (vendored client)')
  for (const count of [1, 2, 17, 300]) {
    const batch = messages(count, BigInt(Date.now()))
    const records = expectedRecords(batch)
    const bytes = Buffer.from(
      createRecordsBatch(batch as never, { producerId: 5n, producerEpoch: 1, transactionalId: 'x' } as never).buffer,
    )
    assert.ok(bytes.length > records.length)
    assert.equal(Buffer.compare(bytes.subarray(bytes.length - records.length), records), 0, `${count} records`)
    // The CRC (chained over the batch's pieces by the patch) equals a one-pass CRC-32C of everything
    // after it: baseOffset 8, batchLength 4, partitionLeaderEpoch 4, magic 1, crc 4, then attributes...
    assert.equal(bytes.readUInt32BE(17), jsCRC32C(bytes.subarray(21)) >>> 0, `${count} records: CRC`)
  }
})
