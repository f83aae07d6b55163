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

const MARK = '/* offerstream read_committed patch v1 */'
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const file = path.join(root, 'node_modules', '@platformatic', 'kafka', 'dist', 'clients', 'consumer', 'consumer.js')
// Absent with `npm install --package-lock-only`; test/integration/read-committed.test.ts catches a
// real install that went unpatched.
if (!existsSync(file)) process.exit(0)
const source = readFileSync(file, 'utf8')
if (source.includes(MARK)) process.exit(0)

const start = source.indexOf('    #filterUncommittedMessages(response) {')
const end = source.indexOf('    #getRejoinError(error) {')
if (start < 0 || end < start) {
  console.error(`patch-kafka-client: ${file} no longer has the expected #filterUncommittedMessages; check the client version`)
  process.exit(1)
}

const replacement = `    #filterUncommittedMessages(response) {
        ${MARK}
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
writeFileSync(file, source.slice(0, start) + replacement + source.slice(end))
