import path from 'node:path'

/** Kafka release the stack runs; the client library supports 3.5.0 to 4.2.0. */
export const KAFKA_VERSION = process.env.OFFERSTREAM_KAFKA_VERSION ?? '4.1.1'

/** Repository root, derived from this file so it works from any cwd. */
const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..')

/** Gitignored, project-local home for downloads and the `stack up` state. */
const LOCAL_DIR = path.join(PROJECT_ROOT, '.offerstream')

export const KAFKA_POM = path.join(PROJECT_ROOT, 'tools', 'stack', 'kafka', 'pom.xml')

export function kafkaLibsDir(version: string = KAFKA_VERSION): string {
  return path.join(LOCAL_DIR, 'kafka-libs', version)
}

export const DEFAULT_STACK_DIR = path.join(LOCAL_DIR, 'stack')

/** Formatted, empty storage of a cluster of `nodes` nodes, copied into every new broker. */
export function kafkaStorageTemplateDir(version: string, nodes: number): string {
  return path.join(LOCAL_DIR, 'kafka-storage-template', nodes === 1 ? version : `${version}-${nodes}-nodes`)
}

/** Folder of Kafka node `nodeId` of a `nodes`-node cluster in a stack folder (one node: `kafka`, as always). */
export function kafkaNodeDir(stackDir: string, nodes: number, nodeId: number): string {
  return nodes === 1 ? path.join(stackDir, 'kafka') : path.join(stackDir, `kafka-${nodes}-nodes`, `node-${nodeId}`)
}
