// A preload for the service (`--node-arg=--import=./bench/kafka-requests.ts`, or `node --import` on
// `offerstream run`): counts the Kafka requests the process sends, by API, from the client's own
// diagnostics channel, and appends the running totals as one JSON line every 2 s to
// $OFFERSTREAM_BENCH_REQUESTS_FILE (default /tmp/offerstream-requests-<pid>.jsonl). Differences of
// two lines give requests per second; with the transactions committed, round trips per transaction.
import { subscribe } from 'node:diagnostics_channel'
import { appendFileSync } from 'node:fs'

const API: Record<number, string> = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  8: 'OffsetCommit',
  9: 'OffsetFetch',
  10: 'FindCoordinator',
  11: 'JoinGroup',
  12: 'Heartbeat',
  13: 'LeaveGroup',
  14: 'SyncGroup',
  18: 'ApiVersions',
  22: 'InitProducerId',
  24: 'AddPartitionsToTxn',
  25: 'AddOffsetsToTxn',
  26: 'EndTxn',
  28: 'TxnOffsetCommit',
}
const counts: Record<string, number> = {}
subscribe('tracing:plt:kafka:connections:api:start', message => {
  const key = (message as { apiKey: number }).apiKey
  const name = API[key] ?? `api ${key}`
  counts[name] = (counts[name] ?? 0) + 1
})
const file = process.env.OFFERSTREAM_BENCH_REQUESTS_FILE ?? `/tmp/offerstream-requests-${process.pid}.jsonl`
setInterval(() => appendFileSync(file, `${JSON.stringify({ at: Date.now(), ...counts })}\n`), 2000).unref()
