// Builds offerstream's vendored Kafka client, vendor/platformatic-kafka-<BUILD_VERSION>.tgz, from the
// release on npm and the edits in edits.mjs. package.json depends on that tarball with `file:` and
// package-lock.json pins its integrity, so `npm ci` (also with --ignore-scripts, also in a container
// image) installs the patched client as it is, with no install-time step.
//
//   node tools/kafka-client/build-vendored.mjs          write the tarball, print its integrity
//   node tools/kafka-client/build-vendored.mjs --check  rebuild in a temporary directory and fail
//                                                       unless the committed tarball holds the same files
//
// All or nothing: the release's integrity and version are checked, every edit is applied in memory
// first, and a missing file, a missing or repeated anchor or a changed method stops the build before
// anything is written. After changing an edit: bump BUILD_VERSION, run this, point package.json at
// the new file and run `npm install @platformatic/kafka@file:vendor/<new file>` (a plain `npm install`
// keeps the integrity it has locked for an unchanged name), and commit the tarball, package.json and
// package-lock.json together.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ADDED, BUILD_VERSION, EDITS, NOTICE, UPSTREAM } from './edits.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const tarball = path.join(root, 'vendor', `platformatic-kafka-${BUILD_VERSION}.tgz`)

function fail(...lines) {
  for (const line of lines) console.error(`build-vendored: ${line}`)
  process.exit(1)
}

const integrityOf = file => `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`

/** `npm pack` writes one tarball into `into` and names it on stdout (--json). */
function npmPack(spec, into) {
  const out = execFileSync('npm', ['pack', spec, '--json', '--ignore-scripts', '--pack-destination', into], {
    cwd: into,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return path.join(into, JSON.parse(out)[0].filename)
}

function unpack(file, into) {
  mkdirSync(into, { recursive: true })
  execFileSync('tar', ['-xzf', file, '-C', into])
  return path.join(into, 'package')
}

/** Every edit applied in memory: the new text of each file, or every problem found. */
function applyEdits(dir) {
  const texts = new Map()
  const problems = []
  for (const edit of EDITS) {
    if (!texts.has(edit.file)) {
      const file = path.join(dir, edit.file)
      if (!existsSync(file)) {
        problems.push(`${edit.file}: missing`)
        continue
      }
      texts.set(edit.file, NOTICE + readFileSync(file, 'utf8'))
    }
    const source = texts.get(edit.file)
    const anchor = JSON.stringify(edit.from.trim().slice(0, 70))
    const start = source.indexOf(edit.from)
    if (start < 0 || source.includes(edit.from, start + 1)) {
      problems.push(`${edit.file}: ${start < 0 ? 'no' : 'more than one'} ${anchor}`)
      continue
    }
    let end = start + edit.from.length
    if (edit.until) {
      end = source.indexOf(edit.until, start)
      const hash = end < 0 ? 'no end' : createHash('sha256').update(source.slice(start, end)).digest('hex')
      if (hash !== edit.sha256) {
        problems.push(`${edit.file}: the text from ${anchor} is not the one this edit replaces (${hash})`)
        continue
      }
    }
    texts.set(edit.file, source.slice(0, start) + edit.to + source.slice(end))
  }
  for (const file of Object.keys(ADDED)) {
    if (existsSync(path.join(dir, file))) problems.push(`${file}: already exists`)
  }
  return { texts, problems }
}

/** Relative path -> bytes of every file under dir. */
function filesOf(dir, prefix = '') {
  const files = new Map()
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name)
    if (entry.isDirectory()) for (const [k, v] of filesOf(dir, rel)) files.set(k, v)
    else files.set(rel, readFileSync(path.join(dir, rel)))
  }
  return files
}

function build(work) {
  const release = npmPack(`${UPSTREAM.name}@${UPSTREAM.version}`, work)
  if (integrityOf(release) !== UPSTREAM.integrity) fail(`${path.basename(release)} is not the published ${UPSTREAM.version}`)
  const dir = unpack(release, path.join(work, 'release'))
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  if (pkg.name !== UPSTREAM.name || pkg.version !== UPSTREAM.version) fail(`the release is ${pkg.name}@${pkg.version}`)
  const { texts, problems } = applyEdits(dir)
  if (problems.length) fail('nothing written; the release does not match the edits:', ...problems)
  for (const [file, text] of texts) writeFileSync(path.join(dir, file), text)
  for (const [file, text] of Object.entries(ADDED)) writeFileSync(path.join(dir, file), text)
  pkg.version = BUILD_VERSION
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  if (!existsSync(path.join(dir, 'LICENSE'))) fail('the release has no LICENSE')
  mkdirSync(path.join(work, 'out'))
  return npmPack(dir, path.join(work, 'out'))
}

const work = mkdtempSync(path.join(os.tmpdir(), 'offerstream-kafka-client-'))
try {
  const built = build(work)
  if (process.argv.includes('--check')) {
    if (!existsSync(tarball)) fail(`${path.relative(root, tarball)} is missing`)
    const want = filesOf(unpack(built, path.join(work, 'want')))
    const have = filesOf(unpack(tarball, path.join(work, 'have')))
    const differ = [...new Set([...want.keys(), ...have.keys()])].filter(
      f => !want.get(f)?.equals(have.get(f) ?? Buffer.alloc(0)) || !have.has(f),
    )
    if (differ.length) fail(`${path.relative(root, tarball)} differs from a rebuild in:`, ...differ)
    const same = integrityOf(built) === integrityOf(tarball) ? 'byte for byte' : 'file for file (the gzip bytes differ)'
    console.log(`${path.relative(root, tarball)} matches a rebuild ${same}`)
  } else {
    mkdirSync(path.dirname(tarball), { recursive: true })
    writeFileSync(tarball, readFileSync(built))
    console.log(`${path.relative(root, tarball)} ${integrityOf(tarball)}`)
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
