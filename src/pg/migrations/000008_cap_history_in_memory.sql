-- Issue 17, second design of the frequency cap: each instance keeps the caps' push history in
-- memory, read from subscribers_feedback under the caps' lease (src/pg/cap-gate.ts), so the push log
-- and the verdict functions of 000006 are no longer read or written. offerstream_suppressed stays.
drop table if exists offerstream_cap_pushes;
drop function if exists offerstream_cap_verdict(bigint[], uuid[], bigint, uuid, integer, bigint, integer, bigint);
drop function if exists offerstream_cap_room(bigint[], bigint, integer, bigint);
