import { spawnSync } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The schemathesis release the API contract test runs (PyPI); bump it deliberately, since a new
// release can add checks.
const SCHEMATHESIS_VERSION = '4.32.5'

/** Why the venv cannot be made here, or false. */
export function pythonVenvMissing(): string | false {
  const r = spawnSync('python3', ['-c', 'import ensurepip, venv'], { encoding: 'utf8' })
  return r.status === 0 ? false : 'python3 with venv is not installed (apt-get install python3-venv; .ci/run does)'
}

/**
 * A virtualenv with schemathesis, cached under .offerstream/ keyed by the version; the marker file is
 * written last, so an interrupted install is redone rather than trusted. Returns its bin dir.
 */
export function ensureSchemathesisVenv(log: (m: string) => void = () => {}): string {
  const dir = fileURLToPath(new URL(`../.offerstream/schemathesis-venv-${SCHEMATHESIS_VERSION}/`, import.meta.url))
  const marker = `${dir}.installed`
  if (existsSync(marker)) return `${dir}bin/`
  rmSync(dir, { recursive: true, force: true })
  const run = (cmd: string, args: string[]) => {
    const t0 = Date.now()
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stderr || r.stdout).slice(-3000)}`)
    log(`${cmd.split('/').at(-1)} ${args[0]} ${args[1]}: ${Math.round((Date.now() - t0) / 1000)} s`)
  }
  run('python3', ['-m', 'venv', dir])
  run(`${dir}bin/pip`, ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`])
  writeFileSync(marker, `${new Date().toISOString()}\n`)
  return `${dir}bin/`
}
