import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply } from 'fastify'
import Type from 'typebox'
import { campaignsInFlight } from '../pg/sql/campaigns-in-flight.ts'
import { latestRejects } from '../pg/sql/latest-rejects.ts'
import { SESSION_COOKIE, same, sessionValue } from './auth.ts'
import { ErrorSchema } from './schemas.ts'
import type { HttpDeps } from './server.ts'

const asset = (name: string) => readFileSync(new URL(`./dashboard/${name}`, import.meta.url), 'utf8')
const INDEX = asset('index.html')
const LOGIN = asset('login.html')
const JS = asset('dashboard.js')
const CSS = asset('dashboard.css')

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

export function loginPage(reply: FastifyReply, failed: boolean): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(LOGIN.replace('{{error}}', failed ? escapeHtml('wrong token') : ''))
}

const LoginBody = Type.Object({ token: Type.String({ maxLength: 4096 }) })

/** GET / (the dashboard), its assets, the token form, and /v1/dashboard, the data it polls. */
export function registerDashboardRoutes(app: FastifyInstance, deps: HttpDeps) {
  const page = { 200: { description: 'HTML page', contentType: 'text/html' } }
  app.get(
    '/',
    { config: { auth: 'page', doc: { summary: 'Live dashboard (token form when not signed in)', responses: page } } },
    (_req, reply) => reply.type('text/html; charset=utf-8').send(INDEX),
  )
  app.get(
    '/dashboard.js',
    { config: { doc: { summary: 'Dashboard script', responses: { 200: { description: 'JavaScript' } } } } },
    (_req, reply) => reply.type('text/javascript; charset=utf-8').send(JS),
  )
  app.get(
    '/dashboard.css',
    { config: { doc: { summary: 'Dashboard style', responses: { 200: { description: 'CSS' } } } } },
    (_req, reply) => reply.type('text/css; charset=utf-8').send(CSS),
  )

  // Room for a token at LoginBody's maxLength even if every character is percent-encoded UTF-8 (up to
  // 12 bytes each), so that a too-long token is answered 400 by validation; anything bigger, 413.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 65536 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  app.post(
    '/login',
    {
      schema: { body: LoginBody },
      config: {
        doc: {
          summary: 'Dashboard sign-in: form field `token`; sets the session cookie',
          body: LoginBody,
          bodyContentType: 'application/x-www-form-urlencoded',
          responses: {
            303: { description: 'signed in, redirect to /' },
            400: { description: 'no token field, or a token longer than 4096 characters', schema: ErrorSchema },
            401: { description: 'wrong token: the form again' },
            413: { description: 'form larger than 64 KiB', schema: ErrorSchema },
          },
        },
      },
    },
    (req, reply) => {
      const { token } = req.body as { token: string }
      if (deps.apiToken && !same(token, deps.apiToken)) return loginPage(reply.code(401), true)
      if (deps.apiToken) reply.header('set-cookie', `${SESSION_COOKIE}=${sessionValue(deps.apiToken)}; Path=/; HttpOnly; SameSite=Strict`)
      return reply.code(303).header('location', '/').send()
    },
  )

  app.get(
    '/v1/dashboard',
    {
      config: {
        auth: 'read',
        doc: {
          summary: 'What the dashboard shows: campaigns in flight and the latest done, pushes/s and lag samples, latest DLQ records',
          responses: { 200: { description: '{ campaigns, throughput, rejects }' } },
        },
      },
    },
    async () => {
      const [campaigns, rejects] = await Promise.all([
        campaignsInFlight(deps.pool, { maxInFlight: 50, finished: 10 }),
        latestRejects(deps.pool, 10),
      ])
      return { campaigns, throughput: deps.throughput.points(), rejects }
    },
  )
}
