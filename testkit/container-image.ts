import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Builds the project's Containerfile with podman on a machine without a docker daemon or registry
// access (shared/notes/containers.md): runc (crun fails on cgroup v1/hybrid), explicit ulimits (the
// defaults are refused), host networking, and a Debian 12 base made from Debian's packages by
// mmdebstrap, cached as a tar under .offerstream/ and imported once into podman's storage.
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BASE_TAR = `${ROOT}.offerstream/image/debian-bookworm.tar`
const BASE_IMAGE = 'localhost/offerstream-base:bookworm'

/** Global podman flags, then the flags every build/run needs here. */
const PODMAN = ['--runtime', 'runc']
export const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024']

/** Why the container test cannot run here, or false. */
export function containerToolsMissing(): string | false {
  for (const tool of ['podman', 'runc', 'mmdebstrap']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' })
    if (r.error) return `${tool} is not installed (apt-get install podman runc mmdebstrap; .ci/run does)`
  }
  return false
}

export function podman(args: string[], timeoutMs = 600000): SpawnSyncReturns<string> {
  return spawnSync('podman', [...PODMAN, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}):\n${`${r.stdout}\n${r.stderr}`.slice(-4000)}`)
  return r.stdout
}

/** The local Debian base image: imported from the cached tar, which mmdebstrap makes on first use (~20 s). */
function ensureBase(log: (m: string) => void): string {
  if (podman(['image', 'exists', BASE_IMAGE]).status === 0) return BASE_IMAGE
  if (!existsSync(BASE_TAR)) {
    const t0 = Date.now()
    mkdirSync(`${ROOT}.offerstream/image`, { recursive: true })
    const part = `${BASE_TAR}.part`
    const args = ['--quiet', '--format=tar', '--variant=minbase', '--include=ca-certificates', 'bookworm', part]
    check(spawnSync('mmdebstrap', args, { encoding: 'utf8', timeout: 600000 }), 'mmdebstrap')
    renameSync(part, BASE_TAR)
    log(`mmdebstrap: ${Math.round((Date.now() - t0) / 1000)} s`)
  }
  check(podman(['import', BASE_TAR, BASE_IMAGE]), 'podman import')
  return BASE_IMAGE
}

/** Builds the Containerfile as `tag` against the local base; returns the build time and image size. */
export function buildImage(tag: string, log: (m: string) => void = () => {}): { seconds: number; bytes: number } {
  const base = ensureBase(log)
  const t0 = Date.now()
  // npm ci inside the build reaches the registry through this machine's TLS proxy, if it has one.
  const ca = process.env.NODE_EXTRA_CA_CERTS
  const secret = ca && existsSync(ca) ? ['--secret', `id=ca,src=${ca}`] : []
  check(
    podman([
      'build',
      '--network=host',
      '--format=docker', // keeps HEALTHCHECK (the OCI format has no such field)
      ...ULIMITS,
      ...secret,
      '--build-arg',
      `BASE=${base}`,
      '-t',
      tag,
      '-f',
      `${ROOT}Containerfile`,
      ROOT,
    ]),
    'podman build',
  )
  const seconds = (Date.now() - t0) / 1000
  const bytes = Number(check(podman(['image', 'inspect', '--format', '{{.Size}}', tag]), 'podman image inspect').trim())
  log(`image ${tag}: built in ${seconds.toFixed(0)} s, ${(bytes / 1e6).toFixed(0)} MB`)
  return { seconds, bytes }
}
