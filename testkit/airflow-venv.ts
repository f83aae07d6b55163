import { spawnSync } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The Airflow release the DAG is tested with: 2.10 supports Python 3.8-3.12 (the machine has 3.11)
// and still runs `airflow dags test` against a SQLite metadata database with no extra services.
const AIRFLOW_VERSION = '2.10.5'

/**
 * A virtualenv with apache-airflow, cached under .offerstream/ keyed by the version; the marker file
 * is written last, so an interrupted install is redone rather than trusted. Returns its bin dir.
 */
export function ensureAirflowVenv(log: (m: string) => void = () => {}): string {
  const dir = fileURLToPath(new URL(`../.offerstream/airflow-venv-${AIRFLOW_VERSION}/`, import.meta.url))
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
  // uv (from PyPI) resolves and installs Airflow's ~150 packages in about a minute here; pip took
  // 2-3.5 min on the same machine.
  run(`${dir}bin/pip`, ['install', '--quiet', '--disable-pip-version-check', 'uv'])
  run(`${dir}bin/uv`, ['pip', 'install', '--quiet', '--python', `${dir}bin/python`, `apache-airflow==${AIRFLOW_VERSION}`])
  writeFileSync(marker, `${new Date().toISOString()}\n`)
  return `${dir}bin/`
}
