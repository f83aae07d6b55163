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

/**
 * Formatting runs the StorageTool in its own JVM (~1.3 s). Its output is the same
 * for every stack of a Kafka version (node 1, static quorum, random cluster id), so
 * we format once into a template and copy that: a second off every fresh stack.
 */
async function template(spec: KafkaSpec, libs: string): Promise<string> {
  const dir = kafkaStorageTemplateDir(KAFKA_VERSION)
  if (await exists(path.join(dir, 'data', 'meta.properties'))) return path.join(dir, 'data')
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`
  const scratch: KafkaSpec = { ...spec, dir: staging }
  await fs.mkdir(staging, { recursive: true })
  const props = path.join(staging, 'server.properties')
  await fs.writeFile(props, serverProperties(scratch))
  await fs.writeFile(path.join(staging, 'log4j2.properties'), log4j2Properties(scratch))
  const clusterId = crypto.randomBytes(16).toString('base64url') // same shape as `random-uuid`
  try {
    await promisify(execFile)(java(), [...jvmArgs(scratch, libs), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props])
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true })
    const e = err as { stderr?: string; stdout?: string; message: string }
    throw new Error(`formatting Kafka storage failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
  await fs.mkdir(path.dirname(dir), { recursive: true })
  // Parallel first runs race here; whoever renames first wins, the others' copies are equal.
  await fs.rename(staging, dir).catch(() => fs.rm(staging, { recursive: true, force: true }))
  return path.join(dir, 'data')
}

/** Gives the broker in `spec.dir` formatted storage, keeping any existing data. */
export async function ensureFormatted(spec: KafkaSpec, libs: string): Promise<void> {
  const data = path.join(spec.dir, 'data')
  if (await exists(path.join(data, 'meta.properties'))) return
  const source = await template(spec, libs)
  await fs.rm(data, { recursive: true, force: true })
  await fs.cp(source, data, { recursive: true })
}
