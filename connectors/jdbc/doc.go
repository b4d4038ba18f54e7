// Package jdbc is Tributary's query-based incremental source: Confluent's
// JDBC source connector (io.confluent.connect.jdbc.JdbcSourceConnector)
// with its property names, defaults, topic names and source offsets, for
// PostgreSQL (pgx) and MySQL/MariaDB (go-sql-driver/mysql), emitting
// Debezium change-event envelopes instead of bare rows.
//
// # Events
//
// Each row becomes an envelope "<topic>.Envelope" whose after (or, for a
// soft delete, before) is the row struct "<topic>.Value", keyed by
// "<topic>.Key" (the primary key, or key.columns; no key when neither
// exists, as Confluent). The topic is topic.prefix + table name, or
// topic.prefix alone for a custom query. op is r in bulk mode, c for a
// row whose incrementing value is above every one delivered before, u for
// a row seen again through its timestamp (and for every row in timestamp
// mode, which cannot tell inserts from updates), d for a soft-deleted row
// (followed by a tombstone when the row has a key). The source block
// io.tributary.connector.jdbc.Source has Debezium's common fields (name is
// the connector name, ts_ms the row's timestamp column in timestamp modes
// and the poll time otherwise, snapshot "true" in bulk mode) plus schema,
// table, query (custom query text unless query.masked), incrementing and
// timestamp (epoch ms): the values the row's offset was taken from.
//
// # Offsets
//
// Source partitions and offsets are Confluent's: {"table": "<fqn>",
// "protocol": "1"} (the legacy {"table": "<name>"} is read as a fallback)
// or {"query": "query"}; offsets carry incrementing, timestamp (epoch ms)
// and timestamp_nanos, so a Confluent offset is taken over unchanged.
// Tributary adds tributary_tiebreak (the key of the last row in timestamp
// mode) and tributary_max_incrementing (to tell creates from updates).
//
// # Delivery guarantees
//
// Every poll reads pages of at most batch.max.rows rows with keyset
// pagination: WHERE ts < end AND (ts > T OR (ts = T AND id > I)) ORDER BY
// ts, id LIMIT n, where (T, I) is the last delivered row and id is the
// incrementing column (timestamp+incrementing) or the primary key (timestamp
// mode). Any number of rows may share a timestamp: each is delivered once,
// including across restarts, and a page is the only thing held in memory.
// Timestamp mode on a table without a primary key falls back to reading a
// timestamp that fills a whole page in one streamed query; after a crash
// inside such a group the group is delivered again (never lost).
//
// A row committed after the connector passed its timestamp (or its
// incrementing value) would be lost, as in Confluent's connector. Two
// mechanisms prevent it:
//
//   - timestamp.delay.interval.ms (Confluent's): rows are read only up to
//     the database's now() minus the delay, so a transaction that commits
//     within the delay of stamping its rows is never overtaken.
//
//   - visibility.horizon=xmin (PostgreSQL tables, the default there): each
//     poll takes a mark — the database clock (timestamp modes) or the
//     largest visible incrementing value, and the next transaction ID to
//     be assigned — and reads only up to the newest mark at which every
//     transaction then holding an ID has ended (waiting up to 100 ms for
//     them, else using an older mark; incrementing mode runs a max() of
//     the column for it). Comparing each row's xmin with the oldest running
//     transaction, as this did first, lost rows: a transaction older than
//     every running one can write a row after theirs in read order.
//     Guarantee: a row is never skipped if its timestamp
//     (or sequence value) was assigned no earlier than the moment its
//     transaction obtained a transaction ID, which PostgreSQL does at the
//     transaction's first write. That covers DEFAULT now() or
//     clock_timestamp() in the transaction's first writing statement (the
//     usual INSERT/UPDATE, also when the transaction then stays open for
//     long before committing), triggers stamping clock_timestamp(), and
//     sequences. It does not cover a transaction that reads now() (its
//     start time) and writes for the first time later — BEGIN, a long
//     read, then INSERT ... DEFAULT now() — nor the microseconds between
//     a statement evaluating its timestamp or nextval and acquiring the
//     ID: timestamp.delay.interval.ms must cover such gaps. While any
//     writing transaction in the cluster stays open, rows written after it
//     started wait (they are delayed, never lost).
//
// MySQL/MariaDB have no transaction IDs to read: only the delay applies
// there, and to custom queries on PostgreSQL.
//
// # Limits
//
// Hard deletes are invisible (use soft.delete.column); timestamp modes see
// an update only if it changes the timestamp column; incrementing mode sees
// no updates; rows whose timestamp columns are all NULL are never read;
// timestamps set from a client clock that lags the database clock by more
// than the delay can be missed; bulk mode re-reads everything each poll.
package jdbc
