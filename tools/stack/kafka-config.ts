import path from 'node:path'
import { HOST } from './net.ts'

export interface KafkaSpec {
  /** Holds config, data and logs of this broker. */
  dir: string
  port: number
  controllerPort: number
}

export function kafkaLogFile(spec: KafkaSpec): string {
  return path.join(spec.dir, 'server.log')
}

export function java(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

// Single node, combined broker+controller, loopback only. Static voter list (not
// --standalone) so a port change between `stack up` runs needs no re-format.
export function serverProperties(spec: KafkaSpec): string {
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${spec.controllerPort}`,
    `listeners=PLAINTEXT://${HOST}:${spec.port},CONTROLLER://${HOST}:${spec.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${spec.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${path.join(spec.dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false', // topics are created explicitly, as in production
    // One replica of everything, or internal topics never become available.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
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
  return [
    '-Xms256m',
    '-Xmx512m', // a 2-core CI box also runs PostgreSQL, the service and the tests
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(spec.dir, 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
  ]
}
