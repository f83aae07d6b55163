import type { Db } from '../db.ts'

export interface TableColumn {
  name: string
  /** As PostgreSQL prints it: `uuid`, `text`, `character varying(36)`, `timestamp without time zone`. */
  type: string
  /** Default expression, e.g. `nextval('t_id_seq'::regclass)`, or null. */
  default: string | null
  /** GENERATED ... AS IDENTITY: numbered by a sequence without a default expression. */
  identity: boolean
}

/** Columns of a table as the search path resolves its name; undefined when there is no such table. */
export async function tableColumns(client: Db, table: string): Promise<TableColumn[] | undefined> {
  const { rows } = await client.query<TableColumn & { exists: boolean }>(
    `select to_regclass($1) is not null as exists, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            pg_get_expr(d.adbin, d.adrelid) as default, a.attidentity <> '' as identity
       from (select 1) one
       left join pg_attribute a on a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      order by a.attnum`,
    [table],
  )
  if (!rows[0]?.exists) return undefined
  return rows.map(({ name, type, default: def, identity }) => ({ name, type, default: def, identity }))
}
