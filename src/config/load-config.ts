import { accessSync, constants, readFileSync } from 'node:fs'
import { type Caps, parseCap } from '../core/frequency-cap.ts'
import { ErrorCodes, OfferstreamError } from '../errors.ts'
import { type Config, flagOf, SETTINGS, type SettingName, specOf } from './settings.ts'

export interface ConfigSources {
  env?: NodeJS.ProcessEnv
  /** Command-line flags as given, e.g. ['--input-topic', 'x', '--http-enabled=false']. */
  argv?: string[]
}

const NAMES = Object.keys(SETTINGS) as SettingName[]
const BY_FLAG = new Map(NAMES.map(n => [flagOf(n), n]))

function invalid(name: SettingName, detail: string): OfferstreamError {
  const spec = specOf(name)
  return new OfferstreamError(ErrorCodes.CONFIG_INVALID, `invalid setting ${spec.env} (${flagOf(name)}): ${detail}`)
}

function parseValue(name: SettingName, raw: string): Config[SettingName] {
  const spec = specOf(name)
  const shown = spec.secret ? '<redacted>' : JSON.stringify(raw)
  switch (spec.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw invalid(name, `expected an integer, got ${shown}`)
      const n = Number(raw)
      if (spec.min !== undefined && n < spec.min) throw invalid(name, `must be >= ${spec.min}, got ${n}`)
      if (spec.max !== undefined && n > spec.max) throw invalid(name, `must be <= ${spec.max}, got ${n}`)
      return n
    }
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(v)) return true
      if (['false', '0', 'no', 'off', ''].includes(v)) return false
      throw invalid(name, `expected true or false, got ${shown}`)
    }
    case 'list': {
      const items = raw
        .split(',')
        .map(s => s.trim())
        .filter(Boolean)
      for (const item of items) {
        if (!/^[^\s:]+:\d{1,5}$/.test(item)) throw invalid(name, `expected host:port entries, got ${shown}`)
      }
      return items
    }
    default: {
      if (spec.oneOf && !spec.oneOf.includes(raw)) {
        throw invalid(name, `expected one of ${spec.oneOf.map(v => JSON.stringify(v)).join(', ')}, got ${shown}`)
      }
      return raw
    }
  }
}

function readFlags(argv: string[]): { flags: Map<SettingName, string>; configFile?: string } {
  const flags = new Map<SettingName, string>()
  let configFile: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf('=')
    const flag = eq > 0 ? arg.slice(0, eq) : arg
    const takeValue = () => {
      if (eq > 0) return arg.slice(eq + 1)
      const next = argv[++i]
      if (next === undefined) throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `flag ${flag} needs a value`)
      return next
    }
    if (flag === '--config') {
      configFile = takeValue()
      continue
    }
    const name = BY_FLAG.get(flag)
    if (!name) throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `unknown flag ${flag} (see --help)`)
    flags.set(name, takeValue())
  }
  return { flags, configFile }
}

function readFile(path: string): Map<SettingName, string> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new OfferstreamError(
      ErrorCodes.CONFIG_INVALID,
      `invalid setting OFFERSTREAM_CONFIG (--config): cannot read ${path}: ${(error as Error).message}`,
    )
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `invalid setting OFFERSTREAM_CONFIG (--config): ${path} must hold a JSON object`)
  }
  const out = new Map<SettingName, string>()
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in SETTINGS)) throw new OfferstreamError(ErrorCodes.CONFIG_INVALID, `unknown setting "${key}" in ${path}`)
    out.set(key as SettingName, Array.isArray(value) ? value.join(',') : String(value))
  }
  return out
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK)
    return true
  } catch {
    return false
  }
}

/** Builds and validates the configuration; throws CONFIG_INVALID naming the bad setting. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env
  const { flags, configFile } = readFlags(sources.argv ?? [])
  const file = configFile ?? env.OFFERSTREAM_CONFIG
  const fromFile = file ? readFile(file) : new Map<SettingName, string>()
  const config: Record<string, unknown> = {}
  for (const name of NAMES) {
    const raw = flags.get(name) ?? fromFile.get(name) ?? env[specOf(name).env] ?? specOf(name).default
    config[name] = parseValue(name, raw)
  }
  const c = config as Config
  if (c.kafkaSaslMechanism && !c.kafkaSaslUsername) throw invalid('kafkaSaslUsername', 'required when KAFKA_SASL_MECHANISM is set')
  if (new Set([c.inputTopic, c.outputTopic, c.dlqTopic, c.stateTopic]).size !== 4) {
    throw invalid('outputTopic', 'input, output, DLQ and state topics must all differ')
  }
  // The relay picks a reject's dead-letter topic by its source topic.
  if (new Set([c.inputTopic, c.outputTopic, c.dlqTopic, c.stateTopic, c.feedbackTopic, c.feedbackDlqTopic]).size !== 6) {
    throw invalid('feedbackTopic', 'the feedback and feedback DLQ topics must differ from each other and from the other topics')
  }
  if ([c.inputTopic, c.outputTopic, c.dlqTopic, c.stateTopic, c.feedbackTopic, c.feedbackDlqTopic].includes(c.shardTopic)) {
    throw invalid('shardTopic', 'the shard topic must differ from every other topic')
  }
  if (c.databaseUrl && !/^postgres(ql)?:\/\//.test(c.databaseUrl))
    throw invalid('databaseUrl', 'must start with postgres:// or postgresql://')
  // Caught here, these used to surface later as driver errors (exit 1, setting not named).
  if (c.databaseUrl && !URL.canParse(c.databaseUrl))
    throw invalid('databaseUrl', 'is not a valid URL (bad port, or an unescaped @ / # in the password?)')
  if (!/^(auto|[1-9]|10)$/.test(c.topicReplicas))
    throw invalid('topicReplicas', `expected auto or 1 to 10, got ${JSON.stringify(c.topicReplicas)}`)
  if (c.kafkaTlsCaFile && !readable(c.kafkaTlsCaFile)) throw invalid('kafkaTlsCaFile', `cannot read ${c.kafkaTlsCaFile}`)
  for (const name of ['frequencyCap', 'restaurantCap'] as const) {
    const parsed = parseCap(c[name])
    if ('error' in parsed) throw invalid(name, parsed.error)
  }
  if (c.databaseUrl) {
    // The pg driver reads these files on every connect and would fail each one with ENOENT.
    const params = new URL(c.databaseUrl).searchParams
    for (const p of ['sslrootcert', 'sslcert', 'sslkey']) {
      const f = params.get(p)
      if (f && !readable(f)) throw invalid('databaseUrl', `${p}: cannot read ${f}`)
    }
  }
  return c
}

/** The frequency caps of a loaded (so already validated) configuration. */
export function capsOf(c: Pick<Config, 'frequencyCap' | 'restaurantCap'>): Caps {
  const cap = (text: string) => {
    const parsed = parseCap(text)
    return 'cap' in parsed ? parsed.cap : null
  }
  return { frequency: cap(c.frequencyCap), restaurant: cap(c.restaurantCap) }
}

/** Text for --help: one line per setting. */
export function settingsHelp(): string {
  return NAMES.map(n => {
    const s = specOf(n)
    return `  ${flagOf(n).padEnd(32)} ${s.env.padEnd(36)} ${s.help}${s.default ? ` [${s.default}]` : ''}`
  }).join('\n')
}
