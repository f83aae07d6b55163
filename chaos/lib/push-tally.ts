import type { Config } from '../../src/config/settings.ts'
import { consumeCommitted, type RawRecord } from '../../testkit/sinks.ts'

/**
 * A live read_committed reader of push_message that records each (campaign, client) pair in a
 * per-campaign bitmap: constant memory per campaign however long the soak, duplicates counted.
 */
export class PushTally {
  received = 0
  duplicates = 0
  unexpected = 0
  #bits = new Map<string, { restaurant: string; bits: Uint8Array }>()
  #clientIndex: Map<string, { restaurant: string; i: number }>
  #reader: Promise<{ close(): Promise<void> }>

  constructor(config: Config, clientIndex: Map<string, { restaurant: string; i: number }>) {
    this.#clientIndex = clientIndex
    this.#reader = consumeCommitted(config.kafkaBrokers, config.outputTopic, m => this.#record(m), {
      clientId: 'soak-tally',
      maxWaitTime: 200,
    })
    this.#reader.catch(() => {})
  }

  /** Pairs of this campaign become expected: the restaurant's `size` clients, indexed by clientIndex. */
  expect(campaignId: string, restaurant: string, size: number): void {
    this.#bits.set(campaignId, { restaurant, bits: new Uint8Array(Math.ceil(size / 8)) })
  }

  #record(m: RawRecord): void {
    const v = JSON.parse(m.value!.toString()) as { adv_campaign_id: string; client_id: string }
    const campaign = this.#bits.get(v.adv_campaign_id)
    const client = this.#clientIndex.get(v.client_id)
    if (!campaign || !client || client.restaurant !== campaign.restaurant) {
      this.unexpected++
      return
    }
    const { bits } = campaign
    const i = client.i
    const mask = 1 << (i % 8)
    if (bits[i >> 3]! & mask) this.duplicates++
    else {
      bits[i >> 3]! |= mask
      this.received++
    }
  }

  async close(): Promise<void> {
    await (await this.#reader.catch(() => undefined))?.close()
  }
}
