// Runs after `npm install`/`npm ci` (package.json "postinstall"). Plain JavaScript so that it runs
// under whatever node npm was started with.
//
// @platformatic/kafka 2.12.1 filters aborted transactions wrongly in read_committed consumers:
// it keeps one aborted range per producer id per fetch response (every aborted transaction of that
// producer but the last leaks through), drops any range whose abort marker is not in the same
// response (its records leak through), and removes filtered batches from the response, so a
// response holding only aborted batches never advances the fetch offset. The relay reuses one
// producer id across incarnations, so after a SIGKILL consumers of push_message saw aborted pushes
// as duplicates; the service's own input consumer would ingest aborted campaigns the same way.
//
// The replacement follows the Java consumer: aborted transactions are activated in first-offset
// order as batches reach them, an abort marker ends its producer's aborted run, and aborted batches
// stay in place with no records, so offset tracking still moves past them.
// test/integration/read-committed.test.ts fails without this patch.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'node_modules', '@platformatic', 'kafka', 'dist')

/** Replaces source[from, to) of one client file once; a file without the expected text fails the install. */
function patch(relative, mark, from, to, replacement) {
  const file = path.join(dist, relative)
  // Absent with `npm install --package-lock-only`; test/integration/read-committed.test.ts and the
  // relay tests catch a real install that went unpatched.
  if (!existsSync(file)) return
  const source = readFileSync(file, 'utf8')
  if (source.includes(mark)) return
  const start = source.indexOf(from)
  const end = to === null ? start + from.length : source.indexOf(to, start)
  if (start < 0 || end < start) {
    console.error(`patch-kafka-client: ${file} no longer has the expected code (${from.trim().slice(0, 60)}); check the client version`)
    process.exit(1)
  }
  writeFileSync(file, source.slice(0, start) + replacement.replace('MARK', mark) + source.slice(end))
}

const readCommitted = `    #filterUncommittedMessages(response) {
        MARK
        for (const topic of response.responses) {
            for (const partition of topic.partitions) {
                const abortedTransactions = partition.abortedTransactions ?? [];
                if (!partition.records || abortedTransactions.length === 0) {
                    continue;
                }
                const pending = [...abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
                const aborting = new Set();
                let next = 0;
                for (const batch of partition.records) {
                    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
                    while (next < pending.length && pending[next].firstOffset <= lastOffset) {
                        aborting.add(pending[next].producerId);
                        next++;
                    }
                    if (batch.attributes & IS_CONTROL) {
                        if (batch.records[0]?.key?.readInt16BE(2) === 0) {
                            aborting.delete(batch.producerId);
                        }
                        continue;
                    }
                    if (batch.attributes & 0x10 && aborting.has(batch.producerId)) {
                        batch.records = [];
                    }
                }
            }
        }
    }
`
patch(
  'clients/consumer/consumer.js',
  '/* offerstream read_committed patch v1 */',
  '    #filterUncommittedMessages(response) {',
  '    #getRejoinError(error) {',
  readCommitted,
)

// 2. Record encoding. The client builds every record of a produce request from ~8 small Buffers
// (one per field) plus BigInt arithmetic, then copies them all into one buffer for the CRC and again
// for the request: per 5,000-push relay transaction, ~40,000 short-lived objects, most of which
// outlived a young-generation collection and were promoted. The replacement sizes a batch's records
// first and writes them into one buffer; the bytes are the same (Kafka's record format v2: zigzag
// varints, null as length -1). A timestamp delta beyond 30 bits falls back to the client's encoder.
const flatRecords = `        MARK
    }
    const flat = encodeRecordsFlat(messages, firstTimestamp);
    if (flat) {
        buffer.append(flat);
    }
    else {
        for (let i = 0; i < messages.length; i++) {
            buffer.appendFrom(createRecord(messages[i], i, firstTimestamp).dynamicBuffer);
        }
    }
`
const flatEncoder = `
function zigzag32(n) {
    return ((n << 1) ^ (n >> 31)) >>> 0;
}
function uvarintSize(u) {
    return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}
function putUvarint(b, o, u) {
    while (u >= 0x80) {
        b[o++] = (u & 0x7f) | 0x80;
        u >>>= 7;
    }
    b[o++] = u;
    return o;
}
function bytesSize(v) {
    return v == null ? 1 : uvarintSize(zigzag32(v.length)) + v.length;
}
function putBytes(b, o, v) {
    if (v == null) {
        return putUvarint(b, o, 1);
    }
    o = putUvarint(b, o, zigzag32(v.length));
    b.set(v, o);
    return o + v.length;
}
function encodeRecordsFlat(messages, firstTimestamp) {
    const sizes = new Array(messages.length);
    const deltas = new Array(messages.length);
    let total = 0;
    for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        const delta = m.timestamp - firstTimestamp;
        if (delta < -0x40000000n || delta > 0x3fffffffn) {
            return null;
        }
        deltas[i] = Number(delta);
        let size = 1 + uvarintSize(zigzag32(deltas[i])) + uvarintSize(zigzag32(i)) + bytesSize(m.key) + bytesSize(m.value);
        const headers = m.headers;
        size += uvarintSize(zigzag32(headers ? headers.size : 0));
        if (headers) {
            for (const [k, v] of headers) {
                size += bytesSize(k) + bytesSize(v);
            }
        }
        sizes[i] = size;
        total += uvarintSize(zigzag32(size)) + size;
    }
    const b = Buffer.allocUnsafe(total);
    let o = 0;
    for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        o = putUvarint(b, o, zigzag32(sizes[i]));
        b[o++] = 0;
        o = putUvarint(b, o, zigzag32(deltas[i]));
        o = putUvarint(b, o, zigzag32(i));
        o = putBytes(b, o, m.key);
        o = putBytes(b, o, m.value);
        const headers = m.headers;
        o = putUvarint(b, o, zigzag32(headers ? headers.size : 0));
        if (headers) {
            for (const [k, v] of headers) {
                o = putBytes(b, o, k);
                o = putBytes(b, o, v);
            }
        }
    }
    return b;
}
function prepareRecordsBatch(messages, options) {`
patch(
  'protocol/records.js',
  '/* offerstream flat records patch v1 */',
  `        const record = createRecord(messages[i], i, firstTimestamp);
        buffer.appendFrom(record.dynamicBuffer);
    }
`,
  null,
  flatRecords,
)
patch(
  'protocol/records.js',
  '/* offerstream flat records encoder v1 */',
  'function prepareRecordsBatch(messages, options) {',
  null,
  `/* offerstream flat records encoder v1 */${flatEncoder}`,
)

// 3. No whole-request copies. The CRC of a record batch and the request itself were each computed
// over one Buffer.concat of all their pieces: with the records already in one buffer (2.), that is
// two copies of every produced byte, ~4.5 MB of short-lived buffers per 5,000-push transaction that
// stayed resident until the next full collection. The CRC is now chained over the pieces
// (crc32c(piece, previous)), and a request over 64 KB is written piece by piece to a corked socket.
patch(
  'protocol/crc32c.js',
  '/* offerstream chained crc patch v1 */',
  `        return function nativeCRC32C(data) {
`,
  null,
  `        return function nativeCRC32C(data) {
            MARK
            if (DynamicBuffer.isDynamicBuffer(data)) {
                let crc = 0;
                for (const piece of data.buffers) {
                    crc = nativeImplementation(piece, crc);
                }
                return crc;
            }
`,
)
patch(
  'network/connection.js',
  '/* offerstream request pieces patch v1 */',
  `                        payload: writer.buffer,
`,
  null,
  `                        payload: writer.length > 65536 ? writer.dynamicBuffer.buffers : writer.buffer, MARK
`,
)
patch(
  'network/connection.js',
  '/* offerstream corked write patch v1 */',
  `            let canWrite = this.#socket.write(request.payload);
`,
  null,
  `            let canWrite; MARK
            if (Array.isArray(request.payload)) {
                this.#socket.cork();
                for (const piece of request.payload) {
                    canWrite = this.#socket.write(piece);
                }
                this.#socket.uncork();
            }
            else {
                canWrite = this.#socket.write(request.payload);
            }
`,
)
