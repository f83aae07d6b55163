// The CLI's dev commands and the embedded-stack fallback of run/migrate; bin/offerstream.js loads
// this module only for a command that needs it (see src/cli/dev-tools.ts).
import type { DevTools } from '../../src/cli/dev-tools.ts'
import { stackUp } from '../stack/index.ts'
import { runDemo } from './demo.ts'
import { runStack } from './stack.ts'

async function embeddedServices(stackDir: string, log: (m: string) => void) {
  const up = await stackUp(stackDir, log)
  return { kafkaBrokers: up.kafkaBrokers, databaseUrl: up.databaseUrl }
}

export const devTools: DevTools = {
  embeddedServices,
  commands: {
    stack: {
      usage: `offerstream stack up|down|status [--brokers 1|3] [--stack-dir DIR]
  Local Kafka (KRaft; one node, or with --brokers 3 a 3-node cluster with replication factor 3) and
  PostgreSQL in the background. 'up' prints the KAFKA_BROKERS and DATABASE_URL to export; 'down' stops
  everything; data stays in the stack dir.`,
      run: runStack,
    },
    demo: {
      usage: `offerstream demo [flags]
  Seeds the sample subscribers, publishes sample campaigns (active, early, expired, malformed), runs the
  service and prints the push messages, feedback rows and DLQ records that result.`,
      run: argv => runDemo(argv, embeddedServices),
    },
    bench: {
      usage: `offerstream bench [--quick] [--only latency,throughput,bound,bigfanout,txfloor,coldstart,scale] [--instances 1,2,3] [...]
  The benchmark harness (same as npm run bench); all its flags: npm run bench -- --help.`,
      // Loaded on use: the harness pulls in the scenarios and their drivers.
      run: async argv => (await import('../../bench/main.ts')).runBench(argv),
    },
  },
}
