// The edits that turn @platformatic/kafka 2.12.1, as published on npm, into offerstream's vendored
// build (vendor/platformatic-kafka-<BUILD_VERSION>.tgz). build-vendored.mjs applies them, all
// or none: each `from` is text of the published file that must occur in it exactly once, and an edit
// that replaces more than its anchor names the end and the SHA-256 of what it replaces, so an edit
// can never land on code it was not written against. docs/upstream/ holds the same changes written
// against upstream's TypeScript source, to be sent upstream; once a release carries them, this
// folder and the tarball go away.

export const UPSTREAM = {
  name: '@platformatic/kafka',
  version: '2.12.1',
  // `npm view @platformatic/kafka@2.12.1 dist.integrity`
  integrity: 'sha512-lQ511Fkb2dmexyZmOlakGcmp/3dxaiBSWUMs6QdnNoWRnfTdZHxUI6oY4uTcmjbStSl2DbbA7COiJrCrIy6bsw==',
}

/** The version the vendored build carries; bump the last number whenever an edit changes. */
export const BUILD_VERSION = '2.12.1-offerstream.2'

// Apache-2.0 §4(b): a modified file carries a notice that it was changed.
export const NOTICE = `// Modified by offerstream (${BUILD_VERSION}): see tools/kafka-client/edits.mjs in the offerstream repository.\n`

// 1. read_committed. 2.12.1 filters aborted transactions wrongly: it keeps one aborted range per
// producer id per fetch response (every aborted transaction of that producer but the last leaks
// through), ignores a range whose abort marker is not in the same response (its records leak
// through), and removes filtered batches from the response, so a response holding only aborted
// batches never advances the fetch offset. offerstream's relay reuses one producer id across
// incarnations, so after a SIGKILL consumers of push_message saw aborted pushes as duplicates; the
// service's own input consumer would ingest aborted campaigns the same way. The replacement follows
// the Java consumer and lives in its own module, so that a test and offerstream's start-up check
// (src/kafka/client-check.ts) can feed it fetch responses without a broker. Module, function names
// and call site are those of the upstream proposal (docs/upstream/platformatic-kafka-read-committed.md),
// so the start-up check also accepts an upstream release that takes it.
const READ_COMMITTED_FILTER = `// Added by offerstream (${BUILD_VERSION}): see tools/kafka-client/edits.mjs in the offerstream repository.
//
// Removes the records of aborted transactions from a read_committed fetch response as the Java
// consumer does: the response's aborted transactions, in first-offset order, become active as the
// batches reach their first offset; an abort marker ends its producer's active aborted transaction;
// a transactional batch of a producer with an active aborted transaction is aborted. Aborted
// batches keep their place with no records, so the fetch offset still moves past them. Control
// batches stay too: MessagesStream skips them after tracking their offsets.
import { IS_CONTROL, IS_TRANSACTIONAL } from "../../protocol/records.js";
// A control record's key is (version: int16, type: int16); type 0 marks an abort, 1 a commit.
const ABORT_MARKER = 0;
function byFirstOffset(a, b) {
    return a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0;
}
export function filterAbortedTransactions(partition) {
    const aborted = partition.abortedTransactions ?? [];
    if (!partition.records || aborted.length === 0) {
        return;
    }
    const pending = [...aborted].sort(byFirstOffset);
    const aborting = new Set();
    let next = 0;
    for (const batch of partition.records) {
        const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
        while (next < pending.length && pending[next].firstOffset <= lastOffset) {
            aborting.add(pending[next].producerId);
            next++;
        }
        if (batch.attributes & IS_CONTROL) {
            if (batch.records[0]?.key?.readInt16BE(2) === ABORT_MARKER) {
                aborting.delete(batch.producerId);
            }
        }
        else if (batch.attributes & IS_TRANSACTIONAL && aborting.has(batch.producerId)) {
            batch.records = [];
        }
    }
}
/** Empties, in place, the batches of aborted transactions in every partition of a fetch response. */
export function filterUncommittedMessages(response) {
    for (const topic of response.responses) {
        for (const partition of topic.partitions) {
            filterAbortedTransactions(partition);
        }
    }
}
`

// 4. Transactions v2 (KIP-890 part 2), see below: Produce v12 and EndTxn v5, which the client lacks.
const PRODUCE_V12 = `// Added by offerstream (${BUILD_VERSION}): see tools/kafka-client/edits.mjs in the offerstream repository.
//
// Produce v12 (Kafka 4.0, KIP-890 part 2) has the request and response bodies of v11. The version
// number is the change: on a broker that finalizes transaction.version 2, a transactional batch sent
// with it adds its partition to the transaction, so the producer sends no AddPartitionsToTxn. A
// producer of the classic transaction protocol must not send it inside a transaction.
import { createAPI } from "../definitions.js";
import { createRequest, createRequestAsync, parseResponse } from "./produce-v11.js";
function createApiRequest(acks = 1, timeout = 0, topicData, options = {}) {
    return options.compression === 'gzip'
        ? createRequestAsync(acks, timeout, topicData, options)
        : createRequest(acks, timeout, topicData, options);
}
export const api = createAPI(0, 12, createApiRequest, parseResponse);
`

const END_TXN_V5 = `// Added by offerstream (${BUILD_VERSION}): see tools/kafka-client/edits.mjs in the offerstream repository.
import { ResponseError } from "../../errors.js";
import { createAPI } from "../definitions.js";
import { createRequest } from "./end-txn-v4.js";
/*
  EndTxn Request (Version: 5) => transactional_id producer_id producer_epoch committed TAG_BUFFER
    (the body of version 4; the version tells the coordinator the client follows KIP-890 part 2)

  EndTxn Response (Version: 5) => throttle_time_ms error_code producer_id producer_epoch TAG_BUFFER
    throttle_time_ms => INT32
    error_code => INT16
    producer_id => INT64
    producer_epoch => INT16

  The coordinator bumps the producer epoch when it ends a transaction and returns the producer id
  and epoch the next transaction must use (a new id once the epoch is exhausted).
*/
export function parseResponse(_correlationId, apiKey, apiVersion, reader) {
    const response = {
        throttleTimeMs: reader.readInt32(),
        errorCode: reader.readInt16(),
        producerId: reader.readInt64(),
        producerEpoch: reader.readInt16()
    };
    reader.readTaggedFields();
    if (response.errorCode !== 0) {
        throw new ResponseError(apiKey, apiVersion, { '/': [response.errorCode, null] }, response);
    }
    return response;
}
export { createRequest };
export const api = createAPI(26, 5, createRequest, parseResponse);
`

export const ADDED = {
  'dist/clients/consumer/read-committed.js': READ_COMMITTED_FILTER,
  'dist/apis/producer/produce-v12.js': PRODUCE_V12,
  'dist/apis/producer/end-txn-v5.js': END_TXN_V5,
}

// 2. Record encoding. The client builds every record of a produce request from ~8 small Buffers
// (one per field) plus BigInt arithmetic, then copies them all into one buffer for the CRC and again
// for the request: per 5,000-push relay transaction, ~40,000 short-lived objects, most of which
// outlived a young-generation collection and were promoted. The replacement sizes a batch's records
// first and writes them into one buffer; the bytes are the same (Kafka's record format v2: zigzag
// varints, null as length -1; test/unit/record-encoding.test.ts compares them with createRecord's).
// A timestamp delta beyond 30 bits falls back to the client's encoder.
const FLAT_ENCODER = `/* offerstream flat records encoder v1 */
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
`

/**
 * Each `from` must occur exactly once in its file. An edit replaces `from`, or with `until` the text
 * from `from` up to (not including) `until`, which must then hash to `sha256`. Edits of one file
 * apply in order.
 */
export const EDITS = [
  {
    file: 'dist/clients/consumer/consumer.js',
    from: 'import { IS_CONTROL } from "../../protocol/records.js";\n',
    to: 'import { filterUncommittedMessages } from "./read-committed.js";\n',
  },
  {
    file: 'dist/clients/consumer/consumer.js',
    from: '                this.#filterUncommittedMessages(response);\n',
    to: '                filterUncommittedMessages(response); /* offerstream read_committed patch v2 */\n',
  },
  {
    file: 'dist/clients/consumer/consumer.js',
    // The old filter method goes, whole: the text from its first line up to the next method's must
    // hash to `sha256`, so that nothing upstream put between the two can go with it.
    from: '    #filterUncommittedMessages(response) {\n',
    until: '    #getRejoinError(error) {\n',
    sha256: 'a7086647afb32fc7c4f38206827a9bb89b39b7c1a6be9ee34f8e18a8ee04062a',
    to: '',
  },
  {
    file: 'dist/protocol/records.js',
    from: `        const record = createRecord(messages[i], i, firstTimestamp);
        buffer.appendFrom(record.dynamicBuffer);
    }
`,
    to: `        /* offerstream flat records patch v1 */
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
`,
  },
  {
    file: 'dist/protocol/records.js',
    from: 'function prepareRecordsBatch(messages, options) {\n',
    to: `${FLAT_ENCODER}function prepareRecordsBatch(messages, options) {\n`,
  },
  // 3. No whole-request copies. The CRC of a record batch and the request itself were each computed
  // over one Buffer.concat of all their pieces: with the records already in one buffer (2.), that is
  // two copies of every produced byte, ~4.5 MB of short-lived buffers per 5,000-push transaction that
  // stayed resident until the next full collection. The CRC is now chained over the pieces
  // (crc32c(piece, previous)), and a request over 64 KB is written piece by piece to a corked socket.
  {
    file: 'dist/protocol/crc32c.js',
    from: `        return function nativeCRC32C(data) {
            const bytes = DynamicBuffer.isDynamicBuffer(data)
`,
    to: `        return function nativeCRC32C(data) {
            /* offerstream chained crc patch v1 */
            if (DynamicBuffer.isDynamicBuffer(data)) {
                let crc = 0;
                for (const piece of data.buffers) {
                    crc = nativeImplementation(piece, crc);
                }
                return crc;
            }
            const bytes = DynamicBuffer.isDynamicBuffer(data)
`,
  },
  {
    file: 'dist/network/connection.js',
    from: '                        payload: writer.buffer,\n',
    to: '                        payload: writer.length > 65536 ? writer.dynamicBuffer.buffers : writer.buffer, /* offerstream request pieces patch v1 */\n',
  },
  {
    file: 'dist/network/connection.js',
    from: '            let canWrite = this.#socket.write(request.payload);\n',
    to: `            let canWrite; /* offerstream corked write patch v1 */
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
  },
  // 4. Transactions v2 (KIP-890 part 2). A relay transaction took three round trips:
  // AddPartitionsToTxn to the coordinator, Produce to the leaders, EndTxn to the coordinator. When
  // the cluster finalizes transaction.version >= 2 and the broker offers Produce v12 and EndTxn v5,
  // a transactional producer now sends its batches with Produce v12, which adds the partitions to
  // the transaction on the broker, and no AddPartitionsToTxn; it ends the transaction with EndTxn
  // v5, whose response carries the epoch (bumped at every end) that the next transaction uses, with
  // sequence numbers from 0 again. The protocol is chosen when InitProducerId succeeds, from the
  // first ApiVersions response of the client, and kept until the next InitProducerId, as the Java
  // producer keeps it within a transaction. Produce v12 is not in the API table, so every other
  // send still picks v11 as before. `transactionsV2: false` keeps the classic protocol.
  {
    file: 'dist/clients/base/base.js',
    from: "export const kContext = Symbol('plt.kafka.base.context');\n",
    to: "export const kContext = Symbol('plt.kafka.base.context');\nexport const kFinalizedFeatures = Symbol('plt.kafka.base.finalizedFeatures'); /* offerstream transactions v2 patch v1 */\n",
  },
  {
    file: 'dist/clients/base/base.js',
    from: '                deduplicateCallback(null, metadata.apiKeys);\n',
    to: '                this[kFinalizedFeatures] = metadata.finalizedFeatures ?? []; /* offerstream transactions v2 patch v1 */\n                deduplicateCallback(null, metadata.apiKeys);\n',
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: 'import { ensureMetric } from "../metrics.js";\n',
    to: `import { ensureMetric } from "../metrics.js";
import { kApis, kFinalizedFeatures } from "../base/base.js"; /* offerstream transactions v2 patch v1 */
import { api as produceV12 } from "../../apis/producer/produce-v12.js";
import { api as endTxnV5 } from "../../apis/producer/end-txn-v5.js";
`,
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: '    #sendOperation;\n',
    to: `    #sendOperation;
    /* offerstream transactions v2 patch v1 */
    // Whether this producer id and epoch run transactions v2; set by every InitProducerId.
    #transactionsV2 = false;
`,
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: '    get coordinatorId() {\n',
    to: `    get transactionsV2() {
        return this.#transactionsV2;
    }
    #supportsTransactionsV2() {
        if (this[kOptions].transactionsV2 === false) {
            return false;
        }
        const feature = (this[kFinalizedFeatures] ?? []).find(f => f.name === 'transaction.version');
        const maxVersion = name => this[kApis].find(api => api.name === name)?.maxVersion ?? -1;
        return (feature?.maxVersionLevel ?? 0) >= 2 && maxVersion('Produce') >= 12 && maxVersion('EndTxn') >= 5;
    }
    /** Produce and EndTxn inside a transaction: v12 and v5 under transactions v2, else the client's choice. */
    #getTransactionalApi(name, transactional, callback) {
        if (transactional && this.#transactionsV2) {
            callback(null, name === 'Produce' ? produceV12 : endTxnV5);
            return;
        }
        this[kGetApi](name, callback);
    }
    get coordinatorId() {
`,
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: '        const transactions = [];\n        for (const [topic, partitionsSet] of topicsPartitions) {\n',
    to: `        if (this.#transactionsV2) {
            // The Produce v12 request adds the partitions.
            callback(null);
            return;
        }
        const transactions = [];
        for (const [topic, partitionsSet] of topicsPartitions) {
`,
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: `                    this[kGetApi]('EndTxn', (error, api) => {
                        if (error) {
                            retryCallback(this.#handleError(error));
                            return;
                        }
                        api(connection, this.#transaction.id, this.#producerInfo.producerId, this.#producerInfo.producerEpoch, commit, error => {
                            if (error) {
                                this.#handleFencingError(error);
                                retryCallback(this.#handleError(error));
                                return;
                            }
`,
    to: `                    this.#getTransactionalApi('EndTxn', true, (error, api) => {
                        if (error) {
                            retryCallback(this.#handleError(error));
                            return;
                        }
                        api(connection, this.#transaction.id, this.#producerInfo.producerId, this.#producerInfo.producerEpoch, commit, (error, response) => {
                            if (error) {
                                this.#handleFencingError(error);
                                retryCallback(this.#handleError(error));
                                return;
                            }
                            if (api.version >= 5 && response.producerId >= 0n) {
                                // The next transaction runs under the epoch the coordinator bumped, its sequences from 0.
                                this.#producerInfo = { ...this.#producerInfo, producerId: response.producerId, producerEpoch: response.producerEpoch };
                                this.#sequences.clear();
                            }
`,
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: `                this.#producerInfo = {
                    producerId: response.producerId,
                    producerEpoch: response.producerEpoch,
                    transactionalId
                };
`,
    to: `                this.#producerInfo = {
                    producerId: response.producerId,
                    producerEpoch: response.producerEpoch,
                    transactionalId
                };
                this.#transactionsV2 = transactionalId !== undefined && this.#supportsTransactionsV2();
`,
  },
  {
    file: 'dist/clients/producer/producer.js',
    from: "                    this[kGetApi]('Produce', (error, api) => {\n",
    to: "                    this.#getTransactionalApi('Produce', produceOptions.transactionalId !== undefined, (error, api) => {\n",
  },
  {
    file: 'dist/clients/producer/options.js',
    from: "        registry: { type: 'object' }\n",
    to: "        registry: { type: 'object' },\n        transactionsV2: { type: 'boolean' }\n",
  },
  {
    file: 'dist/clients/producer/types.d.ts',
    from: '    transactionalId?: string;\n    serializers?:',
    to: `    transactionalId?: string;
    /** Use transactions v2 (KIP-890 part 2) when the cluster finalizes transaction.version >= 2 (default true). */
    transactionsV2?: boolean;
    serializers?:`,
  },
  {
    file: 'dist/clients/producer/producer.d.ts',
    from: '    get coordinatorId(): number | undefined;\n',
    to: '    /** Whether the current producer id and epoch run transactions v2 (KIP-890 part 2). */\n    get transactionsV2(): boolean;\n    get coordinatorId(): number | undefined;\n',
  },
]
