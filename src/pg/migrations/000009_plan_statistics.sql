-- Issue 18, ninth round (docs/scaling.md): PostgreSQL keeps a prepared statement's generic plan
-- until the statistics of a table it reads change. A plan made on the statistics of a tiny table
-- looks each event and campaign up by scanning the whole table (fan-out-first-chunks.ts), and
-- autovacuum's defaults refresh the statistics as soon as 50 rows changed. Here they are first
-- taken once thousands have: until then the planner goes by the table's current size and plans
-- index lookups. Later passes follow the scale factors as before.
alter table offerstream_events set (autovacuum_analyze_threshold = 5000, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_threshold = 5000);
alter table offerstream_campaigns set (autovacuum_analyze_threshold = 5000, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_threshold = 5000);
