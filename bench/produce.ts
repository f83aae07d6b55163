import { Producer } from '@platformatic/kafka'
import type { CampaignEvent } from '../testkit/campaigns.ts'
import type { Progress } from './progress.ts'

// The input side: a plain (non-transactional) producer standing in for the restaurants' system.

export interface InputProducer {
  /** Sends all events in order, as fast as the broker takes them; returns when each was acknowledged. */
  backlog(events: CampaignEvent[], progress?: Progress): Promise<{ startedAt: number; endedAt: number }>
  /** Sends events one by one at `perSecond`; producedAt[i] is taken right before event i is sent. */
  paced(events: CampaignEvent[], perSecond: number, progress?: Progress): Promise<number[]>
  close(): Promise<void>
}

export function createInputProducer(brokers: string[], topic: string): InputProducer {
  const producer = new Producer({
    clientId: 'bench-input',
    bootstrapBrokers: brokers,
    serializers: {
      key: (s?: string) => (s === undefined ? undefined : Buffer.from(s)),
      value: (s?: string) => (s === undefined ? undefined : Buffer.from(s)),
    },
  })
  const msg = (e: CampaignEvent) => ({ topic, key: e.campaignId ?? 'malformed', value: e.value })
  return {
    async backlog(events, progress) {
      const startedAt = Date.now()
      for (let i = 0; i < events.length; i += 500) {
        await producer.send({ messages: events.slice(i, i + 500).map(msg) })
        progress?.set(`produced ${Math.min(events.length, i + 500)}/${events.length} campaigns`)
      }
      return { startedAt, endedAt: Date.now() }
    },
    async paced(events, perSecond, progress) {
      const producedAt = new Array<number>(events.length)
      const inflight: Promise<unknown>[] = []
      const t0 = Date.now()
      for (let i = 0; i < events.length; i++) {
        const due = t0 + (i * 1000) / perSecond
        const wait = due - Date.now()
        if (wait > 0) await new Promise(r => setTimeout(r, wait))
        producedAt[i] = Date.now()
        inflight.push(producer.send({ messages: [msg(events[i]!)] }))
        if (i % 100 === 0) progress?.set(`produced ${i}/${events.length} campaigns at ${perSecond}/s`)
      }
      await Promise.all(inflight)
      return producedAt
    },
    close: () => producer.close(true).catch(() => {}),
  }
}
