import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'offerstream_' })
  const m = {
    registry,
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
    feedback: new Counter({
      name: 'offerstream_feedback_total',
      help: 'Feedback received, by door (kafka, http) and outcome (recorded, duplicate, unknown_push, outside_window, invalid)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
  }
  return m
}

export type Metrics = ReturnType<typeof createMetrics>
