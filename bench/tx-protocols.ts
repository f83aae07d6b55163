// node bench/tx-protocols.ts [--pairs 120] [--records 100]
// The two Kafka transaction protocols side by side, paired so that both see the same machine: once a
// second, one OutputProducer.publish over transactions v2 and one over the classic protocol
// (OFFERSTREAM_KAFKA_TRANSACTIONS=auto / v1), in alternating order, each of --records ~400-byte
// records plus the cursor, to the same topic. Per protocol: begin → committed and begin → first
// record seen by a read_committed consumer (ms), the requests sent per transaction by API and their
// round trips.
// The txfloor scenario's 10 transactions per run cannot tell a 2-3 ms difference apart at a load
// of 4; pairs can. Uses KAFKA_BROKERS/DATABASE_URL (a fixture with its own topics and database).
import { subscribe } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { type OutMessage, OutputProducer } from '../src/kafka/output-producer.ts'
import { createFixture } from '../testkit/fixture.ts'
import { percentiles } from '../testkit/quantiles.ts'
import { watchPushes } from '../testkit/sinks.ts'

const { values: a } = parseArgs({ options: { pairs: { type: 'string', default: '120' }, records: { type: 'string', default: '100' } } })
const [pairs, records] = [Number(a.pairs), Number(a.records)]
const WARM = 5
const API: Record<number, string> = { 0: 'Produce', 24: 'AddPartitionsToTxn', 26: 'EndTxn', 3: 'Metadata' }

const fx = await createFixture({ OFFERSTREAM_LOG_LEVEL: 'warn' }, { name: 'txproto' })
const protocols = ['v2', 'v1'] as const
type Protocol = (typeof protocols)[number]
const producers = {
  v2: new OutputProducer({ ...fx.config, kafkaTransactions: 'auto' }, `${fx.config.transactionalId}-v2`),
  v1: new OutputProducer({ ...fx.config, kafkaTransactions: 'v1' }, `${fx.config.transactionalId}-v1`),
}
const committed: Record<Protocol, number[]> = { v2: [], v1: [] }
const visible: Record<Protocol, number[]> = { v2: [], v1: [] }
const requests: Record<Protocol, Record<string, number>> = { v2: {}, v1: {} }
// Each request's round trip, from the client's diagnostics channel: start (written) → asyncStart (answered).
const roundTrips: Record<Protocol, Record<string, number[]>> = { v2: {}, v1: {} }
const started = new WeakMap<object, [Protocol, string, number]>()
let counting: Protocol | null = null
subscribe('tracing:plt:kafka:connections:api:start', message => {
  const name = API[(message as { apiKey: number }).apiKey]
  if (!counting || !name) return
  requests[counting][name] = (requests[counting][name] ?? 0) + 1
  started.set(message as object, [counting, name, performance.now()])
})
subscribe('tracing:plt:kafka:connections:api:asyncStart', message => {
  const s = started.get(message as object)
  if (!s) return
  const [protocol, api, at] = s
  const list = roundTrips[protocol][api] ?? []
  list.push(performance.now() - at)
  roundTrips[protocol][api] = list
})

try {
  for (const p of protocols) await producers[p].open()
  if (!producers.v2.transactionsV2)
    throw new Error('the broker does not offer transactions v2 (transaction.version 2, Produce v12, EndTxn v5)')
  const watch = await watchPushes(fx.config.kafkaBrokers, fx.config.outputTopic, false)
  try {
    for (let t = 0; t < pairs + WARM; t++) {
      const next = Date.now() + 1000
      for (const p of t % 2 === 0 ? protocols : [...protocols].reverse()) {
        const id = `${p}-${String(t).padStart(33, '0')}`
        const value = `{"adv_campaign_id":"${id}",${'x'.repeat(360)}}`
        const messages: OutMessage[] = Array.from({ length: records }, (_, i) => ({ topic: fx.config.outputTopic, key: `k${i}`, value }))
        const startedAt = Date.now()
        const t0 = performance.now()
        counting = t >= WARM ? p : null
        await producers[p].publish(messages, { push: t + 1, dlq: 0 })
        counting = null
        const ms = performance.now() - t0
        while (!watch.seen.byCampaign.has(id) && Date.now() < startedAt + 5000) await sleep(1)
        const seenAt = watch.seen.byCampaign.get(id)?.first
        if (t >= WARM) {
          committed[p].push(ms)
          if (seenAt !== undefined) visible[p].push(seenAt - startedAt)
        }
      }
      await sleep(Math.max(0, next - Date.now()))
    }
  } finally {
    await watch.close()
  }
  const row = (q: ReturnType<typeof percentiles>) => `p50 ${q.p50.toFixed(1)}  p95 ${q.p95.toFixed(1)}  p99 ${q.p99.toFixed(1)}  (n ${q.n})`
  for (const p of protocols) {
    const perTx = Object.entries(requests[p]).map(([k, n]) => `${k} ${(n / pairs).toFixed(2)}`)
    console.log(`transactions ${p}: begin → committed ${row(percentiles(committed[p]))}`)
    console.log(`transactions ${p}: begin → visible   ${row(percentiles(visible[p]))}`)
    console.log(`transactions ${p}: requests per transaction: ${perTx.join(', ')}`)
    for (const [api, ms] of Object.entries(roundTrips[p])) console.log(`transactions ${p}: ${api} round trip ${row(percentiles(ms))}`)
  }
} finally {
  for (const p of protocols) await producers[p].close()
  await fx.cleanup()
}
