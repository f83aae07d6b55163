import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * open: anyone. read: bearer token or the dashboard's session cookie. write: bearer token only (a
 * cookie would let any page the browser visits post feedback). page: like read, but a browser
 * without a session gets the token form instead of a JSON 401.
 */
export type AuthLevel = 'open' | 'read' | 'write' | 'page'

export const SESSION_COOKIE = 'offerstream_session'

/** The cookie holds a keyed hash of the token, not the token itself. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('offerstream-dashboard-session').digest('hex')
}

/** Constant-time comparison of a presented token (or session value) with the expected one. */
export function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

function authorised(req: FastifyRequest, token: string, level: AuthLevel): boolean {
  const header = req.headers.authorization ?? ''
  if (header.startsWith('Bearer ') && same(header.slice(7).trim(), token)) return true
  if (level === 'write') return false
  const session = cookie(req, SESSION_COOKIE)
  return session !== undefined && same(session, sessionValue(token))
}

/**
 * One onRequest hook enforces every route's `config.auth` (the same field /openapi.json reads).
 * No token configured: the write API is off and reads are open (the HTTP host defaults to 127.0.0.1).
 */
export function registerAuth(app: FastifyInstance, token: string, loginPage: (reply: FastifyReply, failed: boolean) => FastifyReply) {
  app.addHook('onRequest', async (req, reply) => {
    const level = req.routeOptions.config.auth ?? 'open'
    if (level === 'open') return
    if (!token) {
      if (level !== 'write') return
      return reply.code(403).send({
        statusCode: 403,
        error: 'Forbidden',
        message: 'the write API is off: no API token is configured (set OFFERSTREAM_API_TOKEN or --api-token)',
      })
    }
    if (authorised(req, token, level)) return
    if (level === 'page') return loginPage(reply.code(401), false)
    return reply.code(401).header('www-authenticate', 'Bearer realm="offerstream"').send({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'missing or wrong token: send Authorization: Bearer <OFFERSTREAM_API_TOKEN>',
    })
  })
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel
  }
}
