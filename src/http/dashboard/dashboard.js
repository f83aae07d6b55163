// The dashboard: polls /v1/dashboard every second and the selected campaign's stats every two.
// Text from campaigns and the DLQ is untrusted input: it only ever goes into textContent.

const KINDS = ['delivered', 'opened', 'clicked', 'redeemed', 'dismissed']
let selected = null
let chosenByUser = false

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return node
}

function bar(fraction) {
  const fill = el('span')
  fill.style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`
  // A handful of responses out of thousands of pushes still shows as a sliver, not as nothing.
  if (fraction > 0) fill.style.minWidth = '3px'
  return el('div', { class: 'bar' }, fill)
}

const time = s => new Date(s * 1000).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

function renderCampaigns(campaigns) {
  const rows = campaigns.map(c => {
    const total = c.status === 'done' ? c.pushed : c.subscribers
    const fraction = total ? c.pushed / total : c.status === 'done' ? 1 : 0
    const progressText = total === null ? `${c.pushed} pushed` : `${c.pushed} / ${total}`
    const tr = el(
      'tr',
      { 'data-campaign': c.campaignId, 'data-status': c.status, class: c.campaignId === selected ? 'selected' : '' },
      el('td', {}, el('code', { title: c.campaignId }, c.campaignId.slice(0, 8))),
      el('td', { class: 'content' }, c.content),
      el('td', { class: 'muted' }, `${time(c.start)} – ${time(c.end)}`),
      el('td', {}, el('span', { class: `status ${c.status}` }, c.status)),
      el('td', { class: c.status }, el('div', { class: 'progress' }, bar(fraction), el('span', { class: 'count' }, progressText))),
    )
    tr.addEventListener('click', () => {
      selected = c.campaignId
      chosenByUser = true
      void refreshFunnel()
    })
    return tr
  })
  document.querySelector('#campaigns tbody').replaceChildren(...rows)
  if (!chosenByUser) {
    const first = campaigns.find(c => c.pushed > 0)
    if (first && first.campaignId !== selected) {
      selected = first.campaignId
      void refreshFunnel()
    }
  }
}

function plot(svg, series, height) {
  const max = Math.max(1, ...series.flatMap(s => s.values))
  document.querySelector(`[data-scale-of="${svg.id}"]`).textContent = `0 – ${Math.round(max)}`
  for (const { name, values } of series) {
    const step = values.length > 1 ? 400 / (values.length - 1) : 0
    const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`)
    svg.querySelector(`polyline[data-series="${name}"]`).setAttribute('points', points.join(' '))
  }
  svg.dataset.points = String(series[0]?.values.length ?? 0)
}

function renderThroughput(points) {
  const written = points.map(p => p.writtenPerSecond)
  const published = points.map(p => p.publishedPerSecond)
  plot(
    document.getElementById('chart'),
    [
      { name: 'written', values: written },
      { name: 'published', values: published },
    ],
    120,
  )
  plot(document.getElementById('lag-chart'), [{ name: 'lag', values: points.map(p => p.lag) }], 60)
  const last = points.at(-1)
  document.getElementById('rate').textContent = String(Math.round(last?.publishedPerSecond ?? 0))
  document.getElementById('peak').textContent = String(Math.round(Math.max(0, ...published)))
  document.getElementById('lag').textContent = String(last?.lag ?? 0)
}

function renderRejects(rejects) {
  const items = rejects.map(r =>
    el(
      'li',
      { 'data-code': r.code },
      el('span', { class: 'code' }, r.code),
      el('span', { class: 'reason' }, r.reason),
      el('span', { class: 'muted small' }, `  ${r.topic} partition ${r.partition} offset ${r.offset}, ${time(r.receivedAt)}`),
    ),
  )
  document.getElementById('dlq').replaceChildren(...(items.length ? items : [el('li', { class: 'muted' }, 'nothing rejected')]))
}

function renderFunnel(stats) {
  document.getElementById('funnel-title').textContent =
    `${stats.content ?? 'cancelled before it arrived'} (${stats.campaignId.slice(0, 8)})`
  const steps = [['pushed', stats.pushed], ...KINDS.map(k => [k, stats.feedback[k] ?? 0])].map(([kind, n]) =>
    el(
      'div',
      { class: 'step', 'data-kind': kind },
      el('span', {}, kind),
      bar(stats.pushed ? n / stats.pushed : 0),
      el('span', { class: 'n' }, n),
    ),
  )
  const p50 = stats.firstFeedbackSeconds.p50
  const summary = el(
    'p',
    { class: 'summary' },
    'responded ',
    el('b', { id: 'responded' }, stats.responded),
    ` (${(stats.responseRate * 100).toFixed(1)}%)`,
    p50 === null ? '' : `, first feedback after ${Math.round(p50)} s (median)`,
  )
  // Pairs the frequency cap dropped are not in the funnel (never pushed), but the restaurant should see them.
  const capped = stats.suppressed
    ? el('p', { class: 'summary muted' }, el('b', { id: 'suppressed' }, stats.suppressed), ' not pushed: over the frequency cap')
    : ''
  document.getElementById('funnel').replaceChildren(...steps, summary, capped)
}

async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin' })
  if (res.status === 401) location.reload()
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
  return res.json()
}

async function refreshFunnel() {
  if (!selected) return
  const id = selected
  try {
    const stats = await getJson(`/v1/campaigns/${id}/stats`)
    if (id === selected) renderFunnel(stats)
  } catch {
    // A campaign still pending has no stats yet; the next round tries again.
  }
}

async function refresh() {
  try {
    const data = await getJson('/v1/dashboard')
    renderCampaigns(data.campaigns)
    renderThroughput(data.throughput)
    renderRejects(data.rejects)
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`
  } catch (error) {
    document.getElementById('updated').textContent = `update failed: ${error.message}`
  }
}

await refresh()
setInterval(refresh, 1000)
setInterval(refreshFunnel, 2000)
