// The SQL twin of core/shard.ts shardOf(): first 28 bits of md5(the id's canonical text) modulo n.
export function shardExpression(uuidColumn: string, shardsParam: string): string {
  return `(('x' || substr(md5(${uuidColumn}::text), 1, 7))::bit(28)::int % ${shardsParam})`
}
