import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { RejectCodes } from '../core/reject-reason.ts'
import { ErrorCodes } from '../errors.ts'

/** What the scrape-time gauges read; the service fills them in (the defaults describe a service that has not started). */
interface Probes {
  /** What /healthz says now. */
  healthy(): boolean
  /** Records of the input topic the consumer group has not committed, per partition this instance consumes. */
  inputLag(): Promise<Map<number, bigint>>
}

// A scrape never waits longer than this for Kafka; a lag that could not be read keeps its last value.
const PROBE_TIMEOUT_MS = 2000

// Labelled series are exported from the start at 0 (not from the first increment), so that rates and
// alert expressions over them have a series to work with on a healthy service.
const RETRY_COMPONENTS = ['ingest', 'writer', 'relay', 'feedback'] as const
const UNAVAILABLE_CODES = [ErrorCodes.PG_UNAVAILABLE, ErrorCodes.KAFKA_UNAVAILABLE] as const
// The ingester's names for a stored campaign's state at arrival (fanning, pending, expired).
const DISPOSITIONS = ['active', 'early', 'expired'] as const
const FEEDBACK_SOURCES = ['kafka', 'http'] as const
const FEEDBACK_OUTCOMES = ['recorded', 'duplicate', 'unknown_push', 'outside_window', 'invalid'] as const
const CANCEL_SOURCES = ['kafka', 'http'] as const
const CANCEL_OUTCOMES = ['applied', 'restaurant_mismatch'] as const

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'offerstream_' })
  const probes: Probes = { healthy: () => false, inputLag: async () => new Map() }
  const m = {
    registry,
    probes,
    eventsAccepted: new Counter({
      name: 'offerstream_events_accepted_total',
      help: 'Input records stored as campaigns, by what happened to them at arrival',
      labelNames: ['disposition'],
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'offerstream_events_rejected_total',
      help: 'Input records rejected to the DLQ, by reason code',
      labelNames: ['code'],
      registers: [registry],
    }),
    eventsRedelivered: new Counter({
      name: 'offerstream_events_redelivered_total',
      help: 'Input records seen again after a crash or rebalance and skipped',
      registers: [registry],
    }),
    campaignsExpired: new Counter({
      name: 'offerstream_campaigns_expired_total',
      help: 'Campaigns skipped or stopped because they passed end minus margin',
      registers: [registry],
    }),
    pushesWritten: new Counter({
      name: 'offerstream_pushes_written_total',
      help: 'Rows written to subscribers_feedback',
      registers: [registry],
    }),
    pushesSuppressed: new Counter({
      name: 'offerstream_pushes_suppressed_total',
      help: 'Pairs a frequency cap kept from being pushed (rows of offerstream_suppressed)',
      registers: [registry],
    }),
    pushesPublished: new Counter({
      name: 'offerstream_pushes_published_total',
      help: 'Messages committed to the push topic',
      registers: [registry],
    }),
    dlqPublished: new Counter({
      name: 'offerstream_dlq_published_total',
      help: 'Records committed to the DLQ topic',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'offerstream_retries_total',
      help: 'Retried operations, by component and error code',
      labelNames: ['component', 'code'],
      registers: [registry],
    }),
    relayTxSeconds: new Histogram({
      name: 'offerstream_relay_transaction_seconds',
      help: 'Duration of one output transaction',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    campaignLatency: new Histogram({
      name: 'offerstream_campaign_latency_seconds',
      help: 'From a campaign being due (its arrival, or its start if it arrived early) to a fan-out range of its pushes committed to Kafka; one observation per range (OFFERSTREAM_FANOUT_CHUNK subscribers)',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    pendingCampaigns: new Gauge({
      name: 'offerstream_pending_campaigns',
      help: 'Campaigns stored before their start',
      registers: [registry],
    }),
    shardsOwned: new Gauge({
      name: 'offerstream_shards_owned',
      help: 'Shards this instance owns now (runs the writer and relay of)',
      registers: [registry],
    }),
    shardsTotal: new Gauge({
      name: 'offerstream_shards',
      help: 'Shards the campaigns are split into (OFFERSTREAM_SHARDS): summed over instances, offerstream_shards_owned should equal it',
      registers: [registry],
    }),
    healthy: new Gauge({
      name: 'offerstream_healthy',
      help: '1 when /healthz answers 200, 0 while a loop is failing and retrying (PostgreSQL or Kafka unavailable)',
      registers: [registry],
      collect() {
        this.set(probes.healthy() ? 1 : 0)
      },
    }),
    inputLag: new Gauge({
      name: 'offerstream_input_lag_records',
      help: 'Records of the input topic not yet committed by the consumer group, per partition this instance consumes',
      labelNames: ['partition'],
      registers: [registry],
      async collect() {
        const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS)
        const timedOut = new Promise<undefined>(resolve => timeout.addEventListener('abort', () => resolve(undefined), { once: true }))
        const lag = await Promise.race([probes.inputLag().catch(() => undefined), timedOut])
        if (!lag) return
        this.reset()
        for (const [partition, n] of lag) this.set({ partition: String(partition) }, Number(n))
      },
    }),
    pgRegression: new Gauge({
      name: 'offerstream_pg_regression',
      help: 'PostgreSQL found behind Kafka (a failover lost committed transactions), by shard (-1: the input) and table: 1 until repaired',
      labelNames: ['shard', 'table'],
      registers: [registry],
    }),
    pgRepairedRows: new Counter({
      name: 'offerstream_pg_repaired_rows_total',
      help: 'Rows restored from Kafka after a failover that lost transactions, by table (subscribers_feedback, offerstream_rejects, offerstream_events)',
      labelNames: ['table'],
      registers: [registry],
    }),
    pgRepairSeconds: new Gauge({
      name: 'offerstream_pg_repair_seconds',
      help: 'How long the last failover repair took',
      registers: [registry],
    }),
    feedback: new Counter({
      name: 'offerstream_feedback_total',
      help: 'Feedback received, by door (kafka, http) and outcome (recorded, duplicate, unknown_push, outside_window, invalid)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    cancels: new Counter({
      name: 'offerstream_campaign_cancels_total',
      help: "Campaign cancels, by door (kafka, http) and outcome: applied (a repeated cancel counts again), restaurant_mismatch (names another restaurant than the campaign's: DLQ from Kafka, 409 over HTTP)",
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
  }
  for (const component of RETRY_COMPONENTS) for (const code of UNAVAILABLE_CODES) m.retries.inc({ component, code }, 0)
  for (const disposition of DISPOSITIONS) m.eventsAccepted.inc({ disposition }, 0)
  for (const code of Object.values(RejectCodes)) m.eventsRejected.inc({ code }, 0)
  for (const source of FEEDBACK_SOURCES) for (const outcome of FEEDBACK_OUTCOMES) m.feedback.inc({ source, outcome }, 0)
  for (const source of CANCEL_SOURCES) for (const outcome of CANCEL_OUTCOMES) m.cancels.inc({ source, outcome }, 0)
  return m
}

export type Metrics = ReturnType<typeof createMetrics>
