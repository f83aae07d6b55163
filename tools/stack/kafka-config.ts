import path from 'node:path'
import { HOST } from './net.ts'

export interface KafkaSpec {
  /** Holds config, data and logs of this broker. */
  dir: string
  port: number
  controllerPort: number
  /** 1-based id of this node in its cluster. */
  nodeId: number
  /** Controller port of every node of the cluster, node i at index i - 1: the static voter set. */
  quorum: number[]
}

/** The specs of a cluster whose node i (1-based) has folder and ports `nodes[i - 1]`. */
export function clusterSpecs(nodes: Array<{ dir: string; port: number; controllerPort: number }>): KafkaSpec[] {
  const quorum = nodes.map(n => n.controllerPort)
  return nodes.map((n, i) => ({ ...n, nodeId: i + 1, quorum }))
}

export function kafkaLogFile(spec: KafkaSpec): string {
  return path.join(spec.dir, 'server.log')
}

export function java(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

// Every node combined broker+controller, loopback only. Static voter list (not --standalone) so a
// port change between `stack up` runs needs no re-format.
export function serverProperties(spec: KafkaSpec): string {
  const nodes = spec.quorum.length
  // Internal topics on every node of a 3-node cluster, and a transaction or offset commit needs two
  // of them in sync: one broker may die without losing or blocking anything. One node: one replica
  // of everything, or internal topics never become available.
  const replicas = Math.min(3, nodes)
  const minIsr = replicas >= 3 ? 2 : 1
  return `${[
    'process.roles=broker,controller',
    `node.id=${spec.nodeId}`,
    `controller.quorum.voters=${spec.quorum.map((port, i) => `${i + 1}@${HOST}:${port}`).join(',')}`,
    `listeners=PLAINTEXT://${HOST}:${spec.port},CONTROLLER://${HOST}:${spec.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${spec.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${path.join(spec.dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false', // topics are created explicitly, as in production
    `offsets.topic.replication.factor=${replicas}`,
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    // Topic default stays 1: tests create one-replica topics; the service sets 2 on the ones it creates.
    'min.insync.replicas=1',
    // 50 partitions each (the default) only slows the first group/transaction on one node.
    'offsets.topic.num.partitions=10',
    'transaction.state.log.num.partitions=10',
    'group.initial.rebalance.delay.ms=0', // tests should not wait 3 s for every first join
    // After a crash the restarted broker cannot register until the dead incarnation's
    // session expires (default 9 s); loopback heartbeats allow a shorter one.
    'broker.heartbeat.interval.ms=1000',
    'broker.session.timeout.ms=5000',
  ].join('\n')}\n`
}

// Everything to a size-capped file: the broker is chatty and stdout belongs to the caller.
export function log4j2Properties(spec: KafkaSpec): string {
  const file = kafkaLogFile(spec)
  return `${[
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = file',
    `appender.file.fileName = ${file}`,
    `appender.file.filePattern = ${file}.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 50MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 2',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    'logger.request.name = kafka.request.logger',
    'logger.request.level = warn',
  ].join('\n')}\n`
}

export function jvmArgs(spec: KafkaSpec, libs: string): string[] {
  // A 2-core CI box also runs PostgreSQL, the service and the tests; three brokers get less each.
  const heap = spec.quorum.length > 1 ? ['-Xms128m', '-Xmx384m'] : ['-Xms256m', '-Xmx512m']
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(spec.dir, 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
  ]
}
