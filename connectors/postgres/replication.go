package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/internal/debezium"
)

// slotInfo is the state of the replication slot in pg_replication_slots.
type slotInfo struct {
	exists         bool
	plugin         string
	database       string
	active         bool
	confirmedFlush pglogrepl.LSN
	restartLSN     pglogrepl.LSN
	xmin           *int64
}

func readSlot(ctx context.Context, conn *pgx.Conn, name string) (slotInfo, error) {
	var s slotInfo
	var confirmed, restart *string
	var catalogXmin *string
	err := conn.QueryRow(ctx, `SELECT plugin, database, active, confirmed_flush_lsn::text, restart_lsn::text, catalog_xmin::text
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, name).
		Scan(&s.plugin, &s.database, &s.active, &confirmed, &restart, &catalogXmin)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read replication slot %q: %w", name, err)
	}
	s.exists = true
	if confirmed != nil {
		if s.confirmedFlush, err = pglogrepl.ParseLSN(*confirmed); err != nil {
			return s, fmt.Errorf("replication slot %q: %w", name, err)
		}
	}
	if restart != nil {
		s.restartLSN, _ = pglogrepl.ParseLSN(*restart)
	}
	if catalogXmin != nil {
		var x int64
		if _, err := fmt.Sscan(*catalogXmin, &x); err == nil {
			s.xmin = &x
		}
	}
	return s, nil
}

// slotXmin reads the slot's catalog_xmin for source.xmin
// (xmin.fetch.interval.ms).
func slotXmin(ctx context.Context, conn *pgx.Conn, name string) (*int64, error) {
	s, err := readSlot(ctx, conn, name)
	if err != nil {
		return nil, err
	}
	return s.xmin, nil
}

// replConn opens a replication=database connection.
func (c *pgConfig) replConn(ctx context.Context) (*pgconn.PgConn, error) {
	conn, err := pgconn.Connect(ctx, c.dsn(true))
	if err != nil {
		return nil, fmt.Errorf("open replication connection to %s:%d/%s as %s: %w", c.host, c.port, c.dbname, c.user, explainConnect(err))
	}
	return conn, nil
}

// replReadSize is the read buffer of the streaming connection. pgproto3
// reads the socket 8 KiB at a time, about 25 changes of a narrow table:
// a read system call every few events. With 64 KiB in front of it, one
// read brings a whole burst, and the stream can tell that the next
// message is already here (streamer.buffered).
const replReadSize = 64 << 10

// createSlot creates the logical slot with pgoutput. With export, the
// returned snapshot name can be imported by a REPEATABLE READ transaction
// to read exactly the data as of the slot's consistent point; it stays
// valid until the replication connection runs another command.
func createSlot(ctx context.Context, conn *pgconn.PgConn, name string, export bool) (pglogrepl.CreateReplicationSlotResult, error) {
	action := "NOEXPORT_SNAPSHOT"
	if export {
		action = "EXPORT_SNAPSHOT"
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, conn, name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: action})
	if err != nil {
		msg := fmt.Sprintf("create replication slot %q", name)
		if strings.Contains(err.Error(), "already exists") {
			msg += "; when several connectors use the same database server, give each its own slot.name"
		}
		return res, fmt.Errorf("%s: %w", msg, err)
	}
	return res, nil
}

// dropSlot drops the slot, waiting briefly for a previous session of this
// connector (killed, its walsender not yet gone) to release it.
func dropSlot(ctx context.Context, conn *pgx.Conn, name string, wait time.Duration) error {
	start := time.Now()
	deadline := start.Add(wait)
	for {
		_, err := conn.Exec(ctx, "SELECT pg_catalog.pg_drop_replication_slot($1)", name)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" && time.Now().Before(deadline) { // object_in_use
			// A walsender of a crashed run of this connector may still hold
			// the slot until it notices its client is gone; after a grace
			// period end it (only Tributary's own sessions).
			if time.Since(start) > 5*time.Second {
				_, _ = conn.Exec(ctx, `SELECT pg_catalog.pg_terminate_backend(active_pid) FROM pg_catalog.pg_replication_slots
				WHERE slot_name = $1 AND active_pid IS NOT NULL AND active_pid IN
				(SELECT pid FROM pg_catalog.pg_stat_activity WHERE application_name = 'tributary')`, name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if errors.As(err, &pgErr) && pgErr.Code == "42704" { // undefined_object
			return nil
		}
		return fmt.Errorf("drop replication slot %q: %w", name, err)
	}
}

// capturedTables lists the tables the filters select, sorted by
// schema.table as Debezium's determineCapturedTables does.
func (t *pgTask) capturedTables(ctx context.Context) ([]tableID, error) {
	rows, err := t.conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast%'`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var ids []tableID
	for rows.Next() {
		var id tableID
		if err := rows.Scan(&id.Schema, &id.Table); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if t.captured(id) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids, nil
}

// captured applies the table filters and Debezium's system-table
// exclusions. The signal table is always captured, as Debezium adds it to
// the table filter (RelationalTableFilters): its changes carry the signals
// and watermarks, so it must be in the publication and the stream.
func (t *pgTask) captured(id tableID) bool {
	if st := t.cfg.signalTable; st != nil && *st == id {
		return true
	}
	s := strings.ToLower(id.Schema)
	if s == "pg_catalog" || s == "information_schema" || strings.HasPrefix(s, "pg_temp") || strings.ToLower(id.Table) == "spatial_ref_sys" {
		return false
	}
	return t.cfg.schemaFilter.Match(id.Schema) && t.cfg.tables.Match(id.String())
}

// publishOption is the publication's publish list when skipped.operations
// was set explicitly (Debezium only then restricts the publication).
func (c *pgConfig) publishOption() string {
	if !c.skippedExplicit || len(c.skipped) == 0 {
		return ""
	}
	var ops []string
	for _, op := range []struct {
		op   string
		name string
	}{{"c", "insert"}, {"u", "update"}, {"d", "delete"}, {"t", "truncate"}} {
		if !c.skipped[debezium.Op(op.op)] {
			ops = append(ops, op.name)
		}
	}
	return strings.Join(ops, ",")
}

func (c *pgConfig) withClause(alter bool) string {
	var opts []string
	if c.pubViaRoot && !alter {
		opts = append(opts, "publish_via_partition_root = true")
	}
	if p := c.publishOption(); p != "" {
		opts = append(opts, fmt.Sprintf("publish = '%s'", p))
	}
	if len(opts) == 0 {
		return ""
	}
	return " WITH (" + strings.Join(opts, ", ") + ")"
}

// initPublication creates or updates the publication per
// publication.autocreate.mode, as PostgresReplicationConnection does.
func (t *pgTask) initPublication(ctx context.Context) error {
	c := t.cfg
	name := pgx.Identifier{c.publication}.Sanitize()
	var allTables bool
	err := t.conn.QueryRow(ctx, "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1", c.publication).Scan(&allTables)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read publication %q: %w", c.publication, err)
	}
	tableList := func() (string, error) {
		ids, err := t.capturedTables(ctx)
		if err != nil {
			return "", err
		}
		if len(ids) == 0 {
			return "", fmt.Errorf("publication.autocreate.mode=filtered: no table matches the table filters, so publication %q would be empty", c.publication)
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = id.quoted()
		}
		return strings.Join(parts, ", "), nil
	}
	var stmt string
	switch {
	case !exists && c.pubMode == "disabled":
		return fmt.Errorf("publication %q does not exist and publication.autocreate.mode=disabled; create it (CREATE PUBLICATION %s FOR ALL TABLES) and restart the connector", c.publication, name)
	case !exists && c.pubMode == "all_tables":
		stmt = "CREATE PUBLICATION " + name + " FOR ALL TABLES" + c.withClause(false)
	case !exists && c.pubMode == "no_tables":
		stmt = "CREATE PUBLICATION " + name + c.withClause(false)
	case !exists && c.pubMode == "filtered":
		list, err := tableList()
		if err != nil {
			return err
		}
		stmt = "CREATE PUBLICATION " + name + " FOR TABLE " + list + c.withClause(false)
	case exists && c.pubMode == "filtered":
		if allTables {
			return fmt.Errorf("publication %q is FOR ALL TABLES and cannot be altered to the filtered table list; drop it or set publication.autocreate.mode=all_tables", c.publication)
		}
		list, err := tableList()
		if err != nil {
			return err
		}
		if same, err := t.publicationHas(ctx, list); err != nil || same {
			return err
		}
		stmt = "ALTER PUBLICATION " + name + " SET TABLE " + list + c.withClause(true)
	default:
		return nil
	}
	t.log.Info("configuring publication", "statement", stmt)
	if _, err := t.conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("publication %q: %s: %w", c.publication, stmt, err)
	}
	return nil
}

func (t *pgTask) publicationHas(ctx context.Context, want string) (bool, error) {
	rows, err := t.conn.Query(ctx, "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1", t.cfg.publication)
	if err != nil {
		return false, fmt.Errorf("read tables of publication %q: %w", t.cfg.publication, err)
	}
	var ids []tableID
	for rows.Next() {
		var id tableID
		if err := rows.Scan(&id.Schema, &id.Table); err != nil {
			rows.Close()
			return false, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.quoted()
	}
	return strings.Join(parts, ", ") == want, nil
}
