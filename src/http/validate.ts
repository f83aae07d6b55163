import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

/** "/items/3/feedback must be ..." for the first few problems: a reason a client can act on. */
function describeErrors(prefix: string, errors: ReadonlyArray<{ instancePath: string; message: string; keyword: string }>): string {
  // anyOf repeats one line per branch; the summary line names the field well enough.
  const useful = errors.filter(e => e.keyword !== 'const' || !errors.some(o => o.keyword === 'anyOf' && o.instancePath === e.instancePath))
  return useful
    .slice(0, 3)
    .map(e => `${prefix}${e.instancePath || ''} ${e.message}`)
    .join('; ')
}

/**
 * Fastify validates params and querystrings with the route's typebox schema through this compiler,
 * so the schema /openapi.json shows is the schema that decided the request.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema)
  return (data: unknown) => {
    if (validator.Check(data)) return { value: data }
    return { error: new Error(describeErrors(httpPart ?? 'request', validator.Errors(data))) }
  }
}
