// Public surface of the local real-services stack (Kafka KRaft + PostgreSQL, no docker).
export { stackDown, stackStatus, stackUp } from './detached.ts'
export { KAFKA_VERSION } from './paths.ts'
export { type Stack, startStack } from './stack.ts'
