import type pg from 'pg'

/** Anything that runs a query: a pooled client inside a transaction, or the pool for single reads. */
export type Db = pg.ClientBase | pg.Pool
