import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { type AlertRule, alertSignal, loadAlertRules } from '../../testkit/alert-rules.ts'

// deploy/prometheus/offerstream-rules.yml: promtool (Debian's `prometheus` package) checks its syntax
// and runs its unit tests (offerstream-rules.test.yml: series that must fire and series that must not).
// test/integration/prometheus-scrape.test.ts evaluates the same expressions against a real scrape.
const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url))
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
const noPromtool = promtool.error ? 'promtool is not installed (apt-get install prometheus; .ci/run does)' : false

function run(args: string[]) {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

test('promtool check rules accepts the rules file', { skip: noPromtool }, () => {
  const r = run(['check', 'rules', 'offerstream-rules.yml'])
  assert.equal(r.status, 0, r.output)
  assert.match(r.output, new RegExp(`SUCCESS: ${loadAlertRules().length} rules found`))
})

test('promtool test rules: every alert fires on its bad series and stays quiet on the good ones', { skip: noPromtool }, () => {
  const r = run(['test', 'rules', 'offerstream-rules.test.yml'])
  assert.equal(r.status, 0, r.output)
  assert.match(r.output, /SUCCESS/)
  // Every alert is tested both ways: somewhere expected to fire, somewhere expected to stay quiet.
  const doc = parse(readFileSync(`${DIR}offerstream-rules.test.yml`, 'utf8')) as {
    tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[]
  }
  const checks = doc.tests.flatMap(t => t.alert_rule_test)
  for (const rule of loadAlertRules()) {
    const mine = checks.filter(c => c.alertname === rule.alert)
    assert.ok(
      mine.some(c => c.exp_alerts.length > 0),
      `${rule.alert}: no test where it fires`,
    )
    assert.ok(
      mine.some(c => c.exp_alerts.length === 0),
      `${rule.alert}: no test where it must stay quiet`,
    )
  }
})

test('every alert has a severity (page or ticket), a summary and a runbook section in docs/operations.md', () => {
  const ops = readFileSync(fileURLToPath(new URL('../../docs/operations.md', import.meta.url)), 'utf8')
  const rules: AlertRule[] = loadAlertRules()
  assert.ok(rules.length >= 10)
  for (const r of rules) {
    assert.ok(['page', 'ticket'].includes(r.labels?.severity ?? ''), `${r.alert}: severity`)
    assert.ok(r.annotations?.summary, `${r.alert}: summary`)
    assert.equal(r.annotations?.runbook, `docs/operations.md#${r.alert.toLowerCase()}`, `${r.alert}: runbook`)
    assert.match(ops, new RegExp(`^#+ ${r.alert}$`, 'm'), `${r.alert}: no section in docs/operations.md`)
    // The scrape test evaluates the signal with `bool`; that needs this shape.
    assert.ok(alertSignal(r.expr), `${r.alert}: expr is not "<signal> <comparison> <number>": ${r.expr}`)
  }
})
