// Every setting, its default, its environment variable and its flag, in one literal. Order of
// precedence: default < environment < config file (--config / OFFERSTREAM_CONFIG) < command-line flag.

type Kind = 'string' | 'int' | 'bool' | 'list'

interface Spec {
  env: string
  kind: Kind
  default: string
  help: string
  min?: number
  max?: number
  oneOf?: readonly string[]
  secret?: boolean
}

export const SETTINGS = {
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    kind: 'list',
    default: '',
    help: 'Kafka bootstrap brokers, host:port[,host:port]. Empty with an empty DATABASE_URL: start the embedded stack.',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    kind: 'string',
    default: '',
    secret: true,
    help: 'PostgreSQL connection string (postgres://user:pass@host:port/db?sslmode=...).',
  },
  // The service's own pool (the HTTP API has 4 more connections of its own). What holds a
  // connection at once: up to fanoutConcurrency fan-out transactions, the shard writers' short
  // promotion transactions, each relay's read and prefetch, the ingest and feedback transactions.
  // Measured (bench/pool-demand.ts: one instance, 12 shards, a 96,000-push burst, 2 runs each):
  // busy connections p95 5-7, at most 9 with a pool of 10 (never all 10), at most 11 with 20 and no
  // faster; with 4 they sat at the cap 45 % of the time. Instances × (pool + 4) must fit
  // PostgreSQL's max_connections (100 by default: 7 instances at these defaults).
  pgPoolSize: {
    env: 'OFFERSTREAM_PG_POOL_SIZE',
    kind: 'int',
    default: '10',
    min: 2,
    max: 200,
    help: 'Most PostgreSQL connections of the service pool (writers, relays, ingest, feedback intake).',
  },
  pgConnectTimeoutMs: {
    env: 'OFFERSTREAM_PG_CONNECT_TIMEOUT_MS',
    kind: 'int',
    default: '5000',
    min: 100,
    max: 600000,
    help: 'How long taking a pooled connection may wait (for a free one, or to connect) before it fails and is retried.',
  },
  // A frozen process (SIGSTOP, a long GC pause) inside a shard transaction holds the shard's lock
  // until the server ends its session; 10 s matches the groups' session timeout, after which the
  // shard's next owner arrives and waits for that lock. Writer transactions are never idle on
  // purpose (their statements follow each other within milliseconds).
  pgIdleInTransactionTimeoutMs: {
    env: 'OFFERSTREAM_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS',
    kind: 'int',
    default: '10000',
    min: 100,
    max: 3600000,
    help: 'idle_in_transaction_session_timeout of the service sessions: the server ends a session whose transaction waited this long for its client.',
  },
  inputTopic: { env: 'OFFERSTREAM_INPUT_TOPIC', kind: 'string', default: 'restaurant_actions', help: 'Topic the campaigns arrive on.' },
  outputTopic: {
    env: 'OFFERSTREAM_OUTPUT_TOPIC',
    kind: 'string',
    default: 'push_message',
    help: 'Topic the push messages are written to.',
  },
  dlqTopic: {
    env: 'OFFERSTREAM_DLQ_TOPIC',
    kind: 'string',
    default: 'restaurant_actions_dlq',
    help: 'Dead-letter topic for rejected input.',
  },
  stateTopic: {
    env: 'OFFERSTREAM_STATE_TOPIC',
    kind: 'string',
    default: 'offerstream_relay_state',
    help: 'Compacted topic holding the relay cursor, written in the same transaction as the output.',
  },
  topicPartitions: {
    env: 'OFFERSTREAM_TOPIC_PARTITIONS',
    kind: 'int',
    default: '3',
    min: 1,
    max: 1000,
    help: 'Partitions for topics the service creates.',
  },
  topicReplicas: {
    env: 'OFFERSTREAM_TOPIC_REPLICAS',
    kind: 'string',
    default: 'auto',
    help: 'Replication factor for topics the service creates, 1-10 or auto: min(3, brokers in the cluster). 3 or more also sets min.insync.replicas 2.',
  },
  groupId: { env: 'OFFERSTREAM_GROUP_ID', kind: 'string', default: 'offerstream', help: 'Consumer group of the input consumer.' },
  transactionalId: {
    env: 'OFFERSTREAM_TRANSACTIONAL_ID',
    kind: 'string',
    default: 'offerstream-relay',
    help: 'Transactional id of the output producer; a second instance with the same id fences the first.',
  },
  // Transactions v2 (KIP-890 part 2, Kafka 4.0+ with transaction.version 2 finalized): the broker adds
  // a partition to the transaction when the Produce arrives, so a relay transaction is two round trips
  // instead of three (no AddPartitionsToTxn), and the epoch moves on at every commit. auto uses it when
  // the cluster offers it; v1 keeps the classic protocol (docs/upstream/platformatic-kafka-transactions-v2.md).
  kafkaTransactions: {
    env: 'OFFERSTREAM_KAFKA_TRANSACTIONS',
    kind: 'string',
    default: 'auto',
    oneOf: ['auto', 'v1'],
    help: 'Transaction protocol of the relays: auto = transactions v2 (no AddPartitionsToTxn round trip) when the cluster finalizes transaction.version 2, else v1; v1 = always the classic protocol.',
  },
  activeMarginSeconds: {
    env: 'OFFERSTREAM_ACTIVE_MARGIN_SECONDS',
    kind: 'int',
    default: '600',
    min: 0,
    max: 86400,
    help: 'No push later than this many seconds before a campaign ends.',
  },
  maxEventBytes: {
    env: 'OFFERSTREAM_MAX_EVENT_BYTES',
    kind: 'int',
    default: '65536',
    min: 256,
    max: 10485760,
    help: 'Input values larger than this go to the DLQ.',
  },
  ingestBatch: {
    env: 'OFFERSTREAM_INGEST_BATCH',
    kind: 'int',
    default: '1000',
    min: 1,
    max: 100000,
    help: 'Most input records stored in one PostgreSQL transaction.',
  },
  inputCommitIntervalMs: {
    env: 'OFFERSTREAM_INPUT_COMMIT_INTERVAL_MS',
    kind: 'int',
    default: '200',
    min: 0,
    max: 60000,
    help: 'Input offsets are committed to Kafka at most this often (0: after every stored batch). Stored records are skipped by position when redelivered, so a longer interval only means more of them after a crash or rebalance.',
  },
  // Issue 18: an empty fetch returns after this wait and the consumer sends the next one, so with
  // nothing to read the ingest and feedback consumers cost the broker two fetches per wait. At 100 ms
  // that was 20 fetches/s, most of what an idle instance cost the broker (docs/scaling.md, "Idle
  // cost"). A record ends the wait as soon as it arrives, so this is not on the latency path; it
  // does bound how long a partition newly assigned in a rebalance waits for the fetch in flight.
  // 500 ms is the Java consumer's fetch.max.wait.ms.
  inputFetchWaitMs: {
    env: 'OFFERSTREAM_INPUT_FETCH_WAIT_MS',
    kind: 'int',
    default: '500',
    min: 1,
    max: 10000,
    help: 'Longest a fetch of the input and feedback consumers waits at the broker for records before it returns empty (fetch.max.wait.ms).',
  },
  // 10000, not 50000 (issue 17): a cancel waits for the fan-out transaction in flight, and at load
  // average ~18 on 2 cores a 50,000-row one took 1.1-2.0 s (cancel-to-stop p99 1.7 s) where a
  // 10,000-row one took 0.3-0.9 s (p99 0.5 s); a 300,000-subscriber fan-out ran at 15-20k pushes/s
  // with either (docs/campaign-controls.md).
  fanoutChunk: {
    env: 'OFFERSTREAM_FANOUT_CHUNK',
    kind: 'int',
    default: '10000',
    min: 100,
    max: 10000000,
    help: 'Subscribers written per fan-out transaction; bounds transaction size for huge restaurants, and how long a cancel waits for the one in flight.',
  },
  // One relay batch (OFFERSTREAM_RELAY_BATCH 5,000): a small campaign in a big fan-out's shard waits
  // behind about this many rows. Measured on a quiet machine (docs/scaling.md, 1M-subscriber
  // fan-out): 20,000 gave small campaigns p99 449–572 ms, 5,000 gave 162–174 ms with the big fan-out
  // ~1.2x longer and the 1M-push backlog no slower; 2,000 and 3,000 slowed both further for little.
  fanoutLead: {
    env: 'OFFERSTREAM_FANOUT_LEAD',
    kind: 'int',
    default: '5000',
    min: 0,
    max: 10000000,
    help: "Most unpublished rows a shard's writer lets a big campaign (one past its first chunk) keep ahead of the shard's relay; small campaigns and first chunks are written at once. 0: no limit.",
  },
  // Measured (docs/scaling.md, "Small campaigns during a big fan-out, fifth round": 1M-subscriber
  // fan-out, small campaigns at 10/s): small p99 79-91 ms with 2,000 against 139-187 with the full
  // 5,000, the big fan-out ~1.15x longer; 2,500 gave 89-102, 1,500 84-110 with it ~1.4x longer.
  fanoutLeadShared: {
    env: 'OFFERSTREAM_FANOUT_LEAD_SHARED',
    kind: 'int',
    default: '2000',
    min: 0,
    max: 10000000,
    help: 'OFFERSTREAM_FANOUT_LEAD while this instance wrote a small campaign (one finished in its first chunk) within the last second: big fan-outs yield to small ones. At most OFFERSTREAM_FANOUT_LEAD; 0: not used.',
  },
  // 5000, not 20000: measured (npm run bench, 1M-subscriber fan-out) as fast or faster, and the
  // service's peak RSS fell from ~490 MB to ~400 MB; the transaction overhead is already amortised.
  relayBatch: {
    env: 'OFFERSTREAM_RELAY_BATCH',
    kind: 'int',
    default: '5000',
    min: 1,
    max: 1000000,
    help: 'Most push messages in one Kafka transaction.',
  },
  schedulerMaxSleepMs: {
    env: 'OFFERSTREAM_SCHEDULER_MAX_SLEEP_MS',
    kind: 'int',
    default: '5000',
    min: 10,
    max: 600000,
    help: 'Longest the scheduler sleeps before re-checking for campaigns that became due.',
  },
  retryMaxDelayMs: {
    env: 'OFFERSTREAM_RETRY_MAX_DELAY_MS',
    kind: 'int',
    default: '5000',
    min: 10,
    max: 600000,
    help: 'Cap of the exponential backoff when Kafka or PostgreSQL is unavailable.',
  },
  shutdownTimeoutMs: {
    env: 'OFFERSTREAM_SHUTDOWN_TIMEOUT_MS',
    kind: 'int',
    default: '15000',
    min: 100,
    max: 600000,
    help: 'How long SIGTERM waits for the in-flight batch before abandoning it.',
  },
  httpHost: {
    env: 'OFFERSTREAM_HTTP_HOST',
    kind: 'string',
    default: '127.0.0.1',
    help: 'Address of the HTTP server (/healthz, /metrics, the API and the dashboard).',
  },
  httpPort: {
    env: 'OFFERSTREAM_HTTP_PORT',
    kind: 'int',
    default: '9464',
    min: 0,
    max: 65535,
    help: 'Port of the HTTP server; 0 picks a free port.',
  },
  httpEnabled: {
    env: 'OFFERSTREAM_HTTP_ENABLED',
    kind: 'bool',
    default: 'true',
    help: 'Serve HTTP: /healthz, /metrics, the API and the dashboard.',
  },
  logLevel: {
    env: 'OFFERSTREAM_LOG_LEVEL',
    kind: 'string',
    default: 'info',
    oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    help: 'Log level.',
  },
  kafkaClientId: { env: 'OFFERSTREAM_KAFKA_CLIENT_ID', kind: 'string', default: 'offerstream', help: 'Kafka client id.' },
  kafkaTls: { env: 'KAFKA_TLS', kind: 'bool', default: 'false', help: 'Connect to Kafka over TLS.' },
  kafkaTlsCaFile: {
    env: 'KAFKA_TLS_CA_FILE',
    kind: 'string',
    default: '',
    help: "PEM file of the CA that signed the brokers' certificates (default: system CAs).",
  },
  kafkaTlsRejectUnauthorized: { env: 'KAFKA_TLS_REJECT_UNAUTHORIZED', kind: 'bool', default: 'true', help: 'Verify broker certificates.' },
  kafkaSaslMechanism: {
    env: 'KAFKA_SASL_MECHANISM',
    kind: 'string',
    default: '',
    oneOf: ['', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    help: 'SASL mechanism; empty for none.',
  },
  kafkaSaslUsername: { env: 'KAFKA_SASL_USERNAME', kind: 'string', default: '', help: 'SASL user name.' },
  kafkaSaslPassword: { env: 'KAFKA_SASL_PASSWORD', kind: 'string', default: '', secret: true, help: 'SASL password.' },
  stackDir: {
    env: 'OFFERSTREAM_STACK_DIR',
    kind: 'string',
    default: '.offerstream/stack',
    help: 'Where the embedded Kafka and PostgreSQL keep their data.',
  },
  // Feedback intake (issue 10): what users did with their pushes.
  feedbackTopic: {
    env: 'OFFERSTREAM_FEEDBACK_TOPIC',
    kind: 'string',
    default: 'push_feedback',
    help: 'Topic the app reports push feedback on (delivered, opened, clicked, redeemed, dismissed).',
  },
  feedbackDlqTopic: {
    env: 'OFFERSTREAM_FEEDBACK_DLQ_TOPIC',
    kind: 'string',
    default: 'push_feedback_dlq',
    help: 'Dead-letter topic for malformed feedback and feedback for pushes never sent.',
  },
  // HTTP API and dashboard (issue 10)
  apiToken: {
    env: 'OFFERSTREAM_API_TOKEN',
    kind: 'string',
    default: '',
    secret: true,
    help: 'Bearer token of the HTTP API and the dashboard; empty: POST /v1/feedback is off (403) and reads are open.',
  },
  // Fast failover (static membership)
  groupInstanceId: {
    env: 'OFFERSTREAM_GROUP_INSTANCE_ID',
    kind: 'string',
    default: '',
    help: 'Static member id of this instance in the consumer group (unique per instance, stable across restarts): a restart within the session timeout takes its partitions back without a rebalance. Empty: dynamic membership.',
  },
  // A member that dies without leaving keeps its input partitions and shards until this expires, so
  // it bounds failover without static membership. The broker only accepts values between its
  // group.min.session.timeout.ms and group.max.session.timeout.ms (6 s and 30 min by default).
  kafkaSessionTimeoutMs: {
    env: 'OFFERSTREAM_KAFKA_SESSION_TIMEOUT_MS',
    kind: 'int',
    default: '10000',
    min: 1000,
    max: 1800000,
    help: "Session timeout of the service's consumer-group memberships (input, shards, feedback): how long a member that stopped heartbeating keeps its partitions and shards before the others take them over.",
  },
  // Scale-out (issue 8): campaigns are split into shards; each shard is owned by one instance at a time.
  shards: {
    env: 'OFFERSTREAM_SHARDS',
    kind: 'int',
    default: '12',
    min: 1,
    max: 256,
    help: 'Number of shards the campaigns are split into (fixed once the database is set up): the most instances that can share the work.',
  },
  shardTopic: {
    env: 'OFFERSTREAM_SHARD_TOPIC',
    kind: 'string',
    default: 'offerstream_shards',
    help: 'Topic with one partition per shard: the consumer group hands out its partitions, and owning partition p is owning shard p.',
  },
  // Performance (issue 9): one instance's shard writers take turns. Measured with 12 shards (npm run
  // bench, one run each, 2-core machine): throughput of 1,032,894 pushes 43,461 pushes/s with no
  // limit (12 concurrent inserts into subscribers_feedback cost ~38 % more PostgreSQL CPU), 51,709
  // and 48,151 with 2, 46,665 with 4; but at 300 campaigns/s rows reached PostgreSQL at p50 4.5 s
  // with 2, 2.3 s with 4, 0.7 s with 12 (quick runs). 4 trades some of the first for the second.
  fanoutConcurrency: {
    env: 'OFFERSTREAM_FANOUT_CONCURRENCY',
    kind: 'int',
    default: '4',
    min: 1,
    max: 256,
    help: "Shard writers' fan-out transactions one instance runs at once, whatever the number of shards it owns; the ingest's joint transaction (first chunks of a batch's new campaigns) may run beside them.",
  },
  // The joint transaction waits for its shards' locks (those without a big fan-out under way): with
  // try-locks alone, at 1,000 small campaigns/s busy writers kept most of them and each campaign cost a
  // writer transaction of its own (docs/scaling.md, Eleventh round). The wait is short because the
  // holder may be a frozen former owner, which keeps the lock until its session is ended.
  jointLockWaitMs: {
    env: 'OFFERSTREAM_JOINT_LOCK_WAIT_MS',
    kind: 'int',
    default: '100',
    min: 0,
    max: 60_000,
    help: "How long the ingest's joint transaction waits for a shard's lock before it gives up and the batch is stored plainly (0: never waits, takes only free locks).",
  },
  // Issue 20 (docs/pg-failover.md): what a start does when PostgreSQL is behind Kafka's committed state.
  pgRegression: {
    env: 'OFFERSTREAM_PG_REGRESSION',
    kind: 'string',
    default: 'repair',
    oneOf: ['repair', 'stop', 'accept'],
    help: 'PostgreSQL behind what Kafka says was committed (a failover lost transactions): repair = restore the lost rows from the published records and re-read the lost input; stop = exit 3 and wait for a decision; accept = continue without restoring (the lost pushes may go out again).',
  },
  // Issue 17: frequency caps. Off by default: the fan-out then runs exactly the statement it ran before.
  frequencyCap: {
    env: 'OFFERSTREAM_FREQUENCY_CAP',
    kind: 'string',
    default: '',
    help: 'At most N pushes per client in any rolling window of DURATION across all restaurants, as N/DURATION (3/24h); pushes over it are dropped and recorded as suppressed. Empty or off: no cap.',
  },
  restaurantCap: {
    env: 'OFFERSTREAM_RESTAURANT_CAP',
    kind: 'string',
    default: '',
    help: 'The same per client per restaurant, as N/DURATION (1/12h). Empty or off: no cap.',
  },
} as const satisfies Record<string, Spec>

export type SettingName = keyof typeof SETTINGS

type ValueOf<K extends Kind> = K extends 'int' ? number : K extends 'bool' ? boolean : K extends 'list' ? string[] : string

export type Config = { -readonly [K in SettingName]: ValueOf<(typeof SETTINGS)[K]['kind']> }

export function flagOf(name: SettingName): string {
  return `--${name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`
}

export function specOf(name: SettingName): Spec {
  return SETTINGS[name]
}
