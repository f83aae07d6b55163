import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * 405 Method Not Allowed, with an Allow header, for a path that exists under other methods; 404
 * only for a path no route has (RFC 9110 15.5.6: fastify answers 404 for both). Call before
 * registering routes: it learns their paths from the onRoute hook.
 */
export function registerMethodNotAllowed(app: FastifyInstance) {
  const routes: { pattern: RegExp; method: string }[] = []
  app.addHook('onRoute', r => {
    const source = r.url
      .split(/(:\w+|\*)/)
      .map(part => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('')
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ pattern: new RegExp(`^${source}$`), method })
  })
  const answer = (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? req.url
    const allowed = [...new Set(routes.filter(r => r.pattern.test(path)).map(r => r.method))]
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({
          statusCode: 405,
          error: 'Method Not Allowed',
          message: `${req.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
        })
    }
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `Route ${req.method}:${path} not found` })
  }
  // Before body parsing: an unrouted method that may carry a body (QUERY, PROPFIND...) without a
  // Content-Type would otherwise be refused with 400 on the way to the not-found handler.
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return answer(req, reply)
  })
  app.setNotFoundHandler(answer)
}
