// Public surface of the local real-services stack (Kafka KRaft + PostgreSQL, no docker).
export { startStack, type Stack, type StackOptions } from './stack.ts'
export { stackUp, stackDown, stackStatus, type StackStatus, type StackUpResult, type ServiceStatus } from './detached.ts'
export { ensureKafkaJars } from './kafka-jars.ts'
export { KAFKA_VERSION, DEFAULT_STACK_DIR } from './paths.ts'
