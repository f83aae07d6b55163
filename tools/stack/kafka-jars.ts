import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { KAFKA_POM, KAFKA_VERSION, kafkaLibsDir } from './paths.ts'

const run = promisify(execFile)

// Written last, so a half-finished download (killed CI job) is never mistaken for a complete one.
const COMPLETE_MARKER = '.complete'

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  )
}

/**
 * Makes sure the broker's runtime jars are in `.offerstream/kafka-libs/<version>/`
 * and returns that folder. The first call resolves them from Maven Central with
 * the `mvn` client (into ~/.m2 as usual, then copied flat); later calls only
 * check the marker file.
 */
export async function ensureKafkaJars(log: (msg: string) => void = () => {}, version: string = KAFKA_VERSION): Promise<string> {
  const target = kafkaLibsDir(version)
  if (await exists(path.join(target, COMPLETE_MARKER))) return target

  // Each caller downloads into its own folder and renames it into place: parallel
  // test processes may race here, and rename is the only atomic step we have.
  const staging = `${target}.tmp-${process.pid}-${Date.now()}`
  log(`kafka: fetching Kafka ${version} jars with mvn into ${target}`)
  const started = Date.now()
  try {
    await run(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        KAFKA_POM,
        `-Dkafka.version=${version}`,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${staging}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    )
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true })
    const e = err as { stdout?: string; stderr?: string; message: string }
    throw new Error(`mvn could not fetch the Kafka jars: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
  const jars = (await fs.readdir(staging)).filter(f => f.endsWith('.jar'))
  if (!jars.some(f => f.startsWith(`kafka_2.13-${version}`))) {
    throw new Error(`mvn finished but ${staging} has no kafka_2.13-${version} jar`)
  }
  await fs.writeFile(path.join(staging, COMPLETE_MARKER), `${jars.length} jars\n`)

  await fs.mkdir(path.dirname(target), { recursive: true })
  try {
    await fs.rename(staging, target)
  } catch (err) {
    // Another process won the race (rename onto a non-empty folder fails); its copy is just as good.
    await fs.rm(staging, { recursive: true, force: true })
    if (!(await exists(path.join(target, COMPLETE_MARKER)))) throw err
  }
  log(`kafka: ${jars.length} jars ready in ${Date.now() - started} ms`)
  return target
}
