import { setTimeout as sleep } from 'node:timers/promises'
import { type OutMessage, OutputProducer } from '../src/kafka/output-producer.ts'
import { type Percentiles, percentiles } from '../testkit/quantiles.ts'
import { watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
import { javaProducer } from './java-producer.ts'
import { createProgress } from './progress.ts'
import type { Row } from './report.ts'

// Transactions before these are JIT and connection warm-up, not measured.
const WARM = 5
const PER_TX = 100

/**
 * The Kafka protocol's floor under a quiet rate's latency: one transaction of 100 ~400-byte records a
 * second, begin → send → commit, with Kafka's own Java producer and then with our OutputProducer (plus
 * its cursor record), one after the other on the same topic. What the Java client needs is the
 * broker's share (AddPartitionsToTxn, Produce with acks=all, EndTxn); the rest of ours is the client's.
 * Our transactions are also timed to the moment the latency scenario's read_committed consumer sees
 * them: after the commit come the markers and the consumer's fetch, which no producer can shorten.
 */
export async function runTxFloor(services: Services, transactions: number) {
  const p = createProgress('tx floor')
  const env = await createBenchEnv(services, 'txfloor')
  const producer = new OutputProducer(env.config, env.config.transactionalId)
  try {
    p.set(`Java producer: ${transactions} transactions at 1/s`)
    const java = await javaProducer<{ sendMs: number[]; commitMs: number[]; totalMs: number[] }>([
      'latency',
      env.config.kafkaBrokers.join(','),
      env.config.outputTopic,
      `${env.config.transactionalId}-java`,
      String(transactions + WARM),
      String(PER_TX),
      '1000',
    ])
    p.set(`OutputProducer: ${transactions} transactions at 1/s`)
    await producer.open()
    const watch = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
    const ours: number[] = []
    const visible: number[] = []
    try {
      for (let t = 0; t < transactions + WARM; t++) {
        const next = Date.now() + 1000
        // Each transaction's records carry an id the watcher reads where a push carries its campaign id.
        const id = `tx-${String(t).padStart(33, '0')}`
        const value = `{"adv_campaign_id":"${id}",${'x'.repeat(360)}}`
        const messages: OutMessage[] = Array.from({ length: PER_TX }, (_, i) => ({ topic: env.config.outputTopic, key: `k${i}`, value }))
        const startedAt = Date.now()
        const t0 = performance.now()
        await producer.publish(messages, { push: t + 1, dlq: 0 })
        if (t >= WARM) ours.push(performance.now() - t0)
        while (!watch.seen.byCampaign.has(id) && Date.now() < next + 5000) await sleep(1)
        const seenAt = watch.seen.byCampaign.get(id)?.first
        if (t >= WARM && seenAt !== undefined) visible.push(seenAt - startedAt)
        await sleep(Math.max(0, next - Date.now()))
      }
    } finally {
      await watch.close()
    }
    p.done(`done: ${transactions} transactions each`)
    return {
      scenario: 'txfloor',
      transactions,
      recordsPerTransaction: PER_TX,
      // OFFERSTREAM_KAFKA_TRANSACTIONS and the broker decide: v2 sends no AddPartitionsToTxn.
      ourProtocol: producer.transactionsV2 ? 'transactions v2' : 'transactions v1',
      javaSendMs: percentiles(java.sendMs.slice(WARM)),
      javaCommitMs: percentiles(java.commitMs.slice(WARM)),
      javaTotalMs: percentiles(java.totalMs.slice(WARM)),
      oursTotalMs: percentiles(ours),
      oursVisibleMs: percentiles(visible),
    }
  } finally {
    p.done()
    await producer.close()
    await env.cleanup()
  }
}

export function txFloorRows(r: Awaited<ReturnType<typeof runTxFloor>>): Row[] {
  const row = (what: string, q: Percentiles): Row => ({
    'one transaction of 100 records at 1/s': what,
    n: q.n,
    p50: q.p50,
    p95: q.p95,
    p99: q.p99,
  })
  return [
    row('Java producer: begin → all sends acknowledged, ms', r.javaSendMs),
    row('Java producer: commitTransaction (EndTxn), ms', r.javaCommitMs),
    row('Java producer: begin → committed, ms', r.javaTotalMs),
    row(`our OutputProducer.publish (${r.ourProtocol}): begin → committed, ms`, r.oursTotalMs),
    row(
      `our OutputProducer.publish (${r.ourProtocol}): begin → first record seen by a read_committed consumer (fetch wait 10 ms), ms`,
      r.oursVisibleMs,
    ),
  ]
}
