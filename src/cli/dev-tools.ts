// The CLI's dev commands (local stack, demo, bench) and the embedded-stack fallback of run/migrate
// live in tools/cli, outside the product. src/ only declares what it expects of them;
// bin/offerstream.js hands in a loader, so no module under src/ imports tools/.

export interface DevCommand {
  /** First line: the synopsis listed by `offerstream --help`; the rest: `offerstream <command> --help`. */
  usage: string
  run(argv: string[]): Promise<void>
}

interface Services {
  kafkaBrokers: string
  databaseUrl: string
}

/** Starts or reuses the local Kafka + PostgreSQL kept in stackDir. */
export type EmbeddedServices = (stackDir: string, log: (m: string) => void) => Promise<Services>

/** @internal implemented by tools/cli, which `knip --production` does not analyse */
export interface DevTools {
  commands: Record<string, DevCommand>
  embeddedServices: EmbeddedServices
}

export type LoadDevTools = () => Promise<DevTools>
