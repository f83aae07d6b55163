import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { checkSinks, type SinkReport, waitForFeedback } from '../../testkit/sinks.ts'
import type { Workload } from '../../testkit/workload.ts'
import type { Stack } from '../../tools/stack/index.ts'
import { type ClusterHealth, leaderOf, waitForInSync } from './cluster-health.ts'
import { produceRetrying } from './produce-retrying.ts'

interface BrokerRunReport {
  /** Node SIGKILLed: the leader of the relay's state topic, which every output transaction writes. */
  killedNode: number
  rowsAtKill: number
  /** Both sinks, checked while the broker was still dead. */
  sinks: SinkReport
  /** The service process never exited: it rode out the broker's death without operator action. */
  survived: boolean
  /** From the broker's restart until every replica of the service's topics is back in sync. */
  resyncMs: number
  health: ClusterHealth
  cleanExit: boolean
  output: string
}

/**
 * On a 3-node cluster one service process runs the workload; when a quarter of the pairs are in
 * PostgreSQL one broker is SIGKILLed, the second half of the input is produced while it is dead,
 * and both sinks must come out exact on the two survivors. Then the broker is restarted and the
 * cluster must heal by itself (all brokers registered, no under-replicated partition).
 */
export async function brokerRun(
  stack: Stack,
  fx: Fixture,
  w: Workload,
  o: { timeoutMs?: number; log?: (m: string) => void } = {},
): Promise<BrokerRunReport> {
  const log = o.log ?? (() => {})
  const bootstrap = stack.kafkaBrokers.split(',')
  const topics = [fx.config.inputTopic, fx.config.outputTopic, fx.config.dlqTopic, fx.config.stateTopic]
  await fx.addSubscribers(w.subscribers)
  const half = Math.ceil(w.values.length / 2)
  await fx.produce(w.values.slice(0, half))
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const rowsAtKill = await waitForFeedback(fx, Math.ceil(w.expected.size / 4), 120000)
  const killedNode = await leaderOf(bootstrap, fx.config.stateTopic)
  log(`${rowsAtKill}/${w.expected.size} rows: SIGKILL of Kafka node ${killedNode}`)
  await stack.stopBroker(killedNode, { hard: true })
  await produceRetrying(fx, w.values.slice(half))
  const sinks = await checkSinks(fx, w.expected, svc.running ? (o.timeoutMs ?? 300000) : 5000)
  const survived = svc.running
  log(`sinks checked with node ${killedNode} dead: ${JSON.stringify(sinks)}; restarting it`)
  const t0 = Date.now()
  await stack.startBroker(killedNode)
  const health = await waitForInSync(bootstrap, topics, 120000)
  const resyncMs = Date.now() - t0
  log(`node ${killedNode} back, replicas in sync after ${resyncMs} ms: ${JSON.stringify(health)}`)
  const stopped = survived ? await svc.kill('SIGTERM') : { code: -1 }
  return { killedNode, rowsAtKill, sinks, survived, resyncMs, health, cleanExit: stopped.code === 0, output: svc.output }
}
