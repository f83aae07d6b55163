import type { Logger } from './logger.ts'

/**
 * What start-up opened, closed in reverse order by closeAll(): on a failed start and on stop, by
 * the same code. Something opened after closeAll() began (a rebuild that finished during stop) is
 * closed at once instead of leaking.
 */
export class Resources {
  #log: Logger
  #stack: Array<{ name: string; close: () => Promise<void> }> = []
  #closing: Promise<void> | undefined

  constructor(log: Logger) {
    this.#log = log
  }

  /** Whether closeAll() has begun. */
  get closing(): boolean {
    return this.#closing !== undefined
  }

  /** Registers what was just opened; it is closed before everything registered earlier. */
  defer(name: string, close: () => Promise<void>): void {
    if (this.#closing) void this.#close({ name, close })
    else this.#stack.push({ name, close })
  }

  /** Closes everything, last opened first; a close that fails is logged and the rest still close. Idempotent. */
  closeAll(): Promise<void> {
    this.#closing ??= (async () => {
      for (let r = this.#stack.pop(); r; r = this.#stack.pop()) await this.#close(r)
    })()
    return this.#closing
  }

  async #close(r: { name: string; close: () => Promise<void> }): Promise<void> {
    try {
      await r.close()
      this.#log.debug({ resource: r.name }, 'closed')
    } catch (error) {
      this.#log.warn({ resource: r.name, err: (error as Error).message }, 'closing failed; going on with the rest')
    }
  }
}
