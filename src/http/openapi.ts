import type { FastifyInstance } from 'fastify'
import type { TSchema } from 'typebox'
import type { AuthLevel } from './auth.ts'

interface ResponseDoc {
  description: string
  schema?: TSchema
  /** Default application/json. */
  contentType?: string
}

/** What /openapi.json says about a route besides its params/querystring schemas (read from the route's `schema`). */
interface RouteDoc {
  summary: string
  description?: string
  body?: TSchema
  /** Default application/json. */
  bodyContentType?: string
  responses: Record<number, ResponseDoc>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    doc?: RouteDoc
  }
}

interface Collected {
  method: string
  url: string
  auth: AuthLevel
  doc: RouteDoc
  params?: TSchema
  querystring?: TSchema
}

function parameters(where: 'path' | 'query', schema: TSchema | undefined) {
  const s = schema as { properties?: Record<string, TSchema>; required?: string[] } | undefined
  return Object.entries(s?.properties ?? {}).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || (s?.required ?? []).includes(name),
    schema: p,
  }))
}

function operation(r: Collected) {
  const op: Record<string, unknown> = { summary: r.doc.summary }
  if (r.doc.description) op.description = r.doc.description
  const params = [...parameters('path', r.params), ...parameters('query', r.querystring)]
  if (params.length) op.parameters = params
  if (r.doc.body) op.requestBody = { required: true, content: { [r.doc.bodyContentType ?? 'application/json']: { schema: r.doc.body } } }
  op.responses = Object.fromEntries(
    Object.entries(r.doc.responses).map(([code, d]) => [
      code,
      { description: d.description, ...(d.schema ? { content: { [d.contentType ?? 'application/json']: { schema: d.schema } } } : {}) },
    ]),
  )
  if (r.auth === 'open') op.security = []
  else if (r.auth === 'write') op.security = [{ bearer: [] }]
  else op.security = [{ bearer: [] }, { session: [] }]
  return op
}

/**
 * Serves /openapi.json, built from what the routes registered: their typebox params/querystring
 * schemas (the ones fastify validates with) and their `config.doc`, which every route must have.
 * Call before registering routes.
 */
export function registerOpenApi(app: FastifyInstance, version: string) {
  const routes: Collected[] = []
  app.addHook('onRoute', r => {
    const doc = r.config?.doc
    const methods = Array.isArray(r.method) ? r.method : [r.method]
    for (const method of methods) {
      if (method === 'HEAD') continue
      // Fails the start, so an undocumented route cannot ship.
      if (!doc) throw new Error(`route ${method} ${r.url} has no config.doc: /openapi.json must describe every route`)
      const schema = r.schema as { params?: TSchema; querystring?: TSchema } | undefined
      routes.push({ method, url: r.url, auth: r.config?.auth ?? 'open', doc, params: schema?.params, querystring: schema?.querystring })
    }
  })
  let built: unknown
  app.get(
    '/openapi.json',
    { config: { doc: { summary: 'This document (OpenAPI 3.1)', responses: { 200: { description: 'OpenAPI document' } } } } },
    async () => {
      built ??= {
        openapi: '3.1.0',
        info: { title: 'offerstream', version },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'the value of OFFERSTREAM_API_TOKEN' },
            session: { type: 'apiKey', in: 'cookie', name: 'offerstream_session', description: 'set by POST /login (dashboard)' },
          },
        },
        paths: routes.reduce<Record<string, Record<string, unknown>>>((paths, r) => {
          const path = r.url.replace(/:(\w+)/g, '{$1}')
          paths[path] ??= {}
          paths[path][r.method.toLowerCase()] = operation(r)
          return paths
        }, {}),
      }
      return built
    },
  )
}
