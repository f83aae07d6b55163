import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { java, jvmArgs, type KafkaSpec, log4j2Properties, serverProperties } from './kafka-config.ts'
import { KAFKA_VERSION, kafkaStorageTemplateDir } from './paths.ts'

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  )

/** Where node `nodeId` keeps its data under a template (or staging) folder. */
function nodeData(root: string, nodes: number, nodeId: number): string {
  return nodes === 1 ? path.join(root, 'data') : path.join(root, `node-${nodeId}`, 'data')
}

/**
 * Formatting runs the StorageTool in its own JVM (~1.3 s). Its output is the same for every
 * cluster of a Kafka version and size (node ids 1..n, static quorum, one random cluster id shared
 * by the nodes), so we format once into a template and copy that: a second off every fresh stack.
 */
async function template(spec: KafkaSpec, libs: string): Promise<string> {
  const nodes = spec.quorum.length
  const dir = kafkaStorageTemplateDir(KAFKA_VERSION, nodes)
  if (!(await exists(path.join(nodeData(dir, nodes, spec.nodeId), 'meta.properties')))) {
    // The nodes of one cluster start together and must share one cluster id: one format per process.
    let making = formatting.get(dir)
    if (!making) {
      making = formatCluster(spec, libs, dir).finally(() => formatting.delete(dir))
      formatting.set(dir, making)
    }
    await making
  }
  return nodeData(dir, nodes, spec.nodeId)
}

const formatting = new Map<string, Promise<void>>()

async function formatCluster(spec: KafkaSpec, libs: string, dir: string): Promise<void> {
  const nodes = spec.quorum.length
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`
  const clusterId = newClusterId()
  const format = async (nodeId: number) => {
    const scratch: KafkaSpec = { ...spec, nodeId, dir: path.dirname(nodeData(staging, nodes, nodeId)) }
    await fs.mkdir(scratch.dir, { recursive: true })
    const props = path.join(scratch.dir, 'server.properties')
    await fs.writeFile(props, serverProperties(scratch))
    await fs.writeFile(path.join(scratch.dir, 'log4j2.properties'), log4j2Properties(scratch))
    await promisify(execFile)(java(), [...jvmArgs(scratch, libs), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props])
  }
  try {
    await Promise.all(spec.quorum.map((_, i) => format(i + 1)))
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true })
    const e = err as { stderr?: string; stdout?: string; message: string }
    throw new Error(`formatting Kafka storage failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
  await fs.mkdir(path.dirname(dir), { recursive: true })
  // Parallel first runs race here; whoever renames first wins, the others' copies are equal.
  await fs.rename(staging, dir).catch(() => fs.rm(staging, { recursive: true, force: true }))
}

/**
 * Same shape as `kafka-storage random-uuid`. Like Kafka's own Uuid.randomUuid we redraw an id that
 * starts with '-': the StorageTool's argument parser reads `-t -GoX…` as a missing value (1 run in 64
 * failed CI this way).
 */
export function newClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** Gives the broker in `spec.dir` formatted storage, keeping any existing data. */
export async function ensureFormatted(spec: KafkaSpec, libs: string): Promise<void> {
  const data = path.join(spec.dir, 'data')
  if (await exists(path.join(data, 'meta.properties'))) return
  const source = await template(spec, libs)
  await fs.rm(data, { recursive: true, force: true })
  await fs.cp(source, data, { recursive: true })
}
