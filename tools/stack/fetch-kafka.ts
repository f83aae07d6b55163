// Warm-up entry point for CI: `node tools/stack/fetch-kafka.ts` downloads the
// Kafka jars once so that test runs never pay for (or flake on) the download.
import { ensureKafkaJars } from './kafka-jars.ts'

const dir = await ensureKafkaJars(msg => console.log(msg))
console.log(`kafka jars: ${dir}`)
