package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/metrics"
)

// snapshotProgressInterval is how often a long table scan logs progress.
const snapshotProgressInterval = 5 * time.Second

// snapshot takes Debezium's consistent snapshot. With data false only the
// structure is captured (no_data, recovery). prev is the stored offset,
// kept as the streaming position in recovery mode.
func (t *task) snapshot(ctx context.Context, em *emitter, prev *offsetState, data bool) (*offsetState, error) {
	c := t.c
	if c.cfg.snapshotDelay > 0 {
		// snapshot.delay.ms (AbstractSnapshotChangeEventSource.delaySnapshotIfNeeded)
		c.log.Info("waiting before the snapshot (snapshot.delay.ms)", "delay", c.cfg.snapshotDelay)
		if err := sleepCtx(ctx, c.cfg.snapshotDelay); err != nil {
			return nil, err
		}
	}
	c.log.Info("snapshot step 1 - preparing", "mode", c.cfg.snapshotMode, "locking", c.cfg.lockingMode, "data", data)
	cctx, cancel := c.cfg.bounded(ctx)
	conn, err := t.db.Conn(cctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("snapshot: open connection: %w", c.cfg.timedOut(ctx, err))
	}
	defer conn.Close()
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("snapshot: %s: %w", q, err)
		}
		return nil
	}
	for _, st := range c.cfg.initialStatements {
		if err := exec(st); err != nil {
			return nil, err
		}
	}
	// TIMESTAMP values are read in UTC so they convert without the
	// server's time zone.
	if err := exec("SET SESSION time_zone = '+00:00'"); err != nil {
		return nil, err
	}
	if err := exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return nil, err
	}
	secs := int64(c.cfg.lockTimeout / time.Second)
	if secs <= 0 {
		secs = 1
	}
	if err := exec(fmt.Sprintf("SET SESSION lock_wait_timeout=%d", secs)); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION innodb_lock_wait_timeout=%d", secs)); err != nil {
		c.log.Warn("unable to set innodb_lock_wait_timeout", "error", err)
	}

	c.log.Info("snapshot step 2 - determining captured tables")
	all, err := listTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	var captured, schemaTables []TableID
	for _, id := range all {
		if c.schemaEligible(id) {
			schemaTables = append(schemaTables, id)
		}
		if c.captured(id) {
			captured = append(captured, id)
		}
	}
	sortedTableIDs(captured)
	sortedTableIDs(schemaTables)

	c.log.Info("snapshot step 3 - locking captured tables", "tables", len(captured))
	locking := c.cfg.lockingMode != "none"
	globalLocked, tablesLocked := false, false
	unlock := func() error {
		if globalLocked || tablesLocked {
			if err := exec("UNLOCK TABLES"); err != nil {
				return err
			}
			c.log.Info("released read lock")
			globalLocked, tablesLocked = false, false
		}
		return nil
	}
	defer func() {
		if globalLocked || tablesLocked {
			conn.ExecContext(context.Background(), "UNLOCK TABLES")
		}
		conn.ExecContext(context.Background(), "ROLLBACK")
	}()
	lockStart := time.Now()
	if locking {
		if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
			c.log.Info("unable to flush and acquire global read lock, will use table read locks", "error", err)
			if len(captured) > 0 {
				names := make([]string, len(captured))
				for i, id := range captured {
					names[i] = id.quoted()
				}
				if err := exec("FLUSH TABLES " + strings.Join(names, ",") + " WITH READ LOCK"); err != nil {
					return nil, fmt.Errorf("%w (the user needs the RELOAD or LOCK TABLES privilege for snapshot.locking.mode=%s; use snapshot.locking.mode=none only if no DDL runs during the snapshot)", err, c.cfg.lockingMode)
				}
			}
			tablesLocked = true
		} else {
			globalLocked = true
		}
		if err := exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
			return nil, err
		}
	}
	if err := exec("START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return nil, err
	}
	// snapshot.max.threads: the other readers start their consistent
	// snapshots while the lock still holds writes back, so that every
	// reader sees the same data as the binlog position read below.
	var readers []*sql.Conn
	defer func() {
		for _, rc := range readers {
			rc.ExecContext(context.Background(), "ROLLBACK")
			rc.Close()
		}
	}()
	if n := c.cfg.snapshotThreads; data && n > 1 && len(captured) > 1 {
		if readers, err = t.openReaders(ctx, min(n, len(captured))-1); err != nil {
			return nil, err
		}
	}

	c.log.Info("snapshot step 4 - determining snapshot offset")
	var o *offsetState
	if prev != nil && c.cfg.snapshotMode == "recovery" {
		o = prev
	} else {
		file, pos, gtids, err := binlogStatus(ctx, conn, c.cfg.flavor.mariadb)
		if err != nil {
			return nil, err
		}
		o = newOffsetState()
		o.setBinlogStartPoint(file, pos)
		o.setCompletedGtidSet(gtids)
		c.log.Info("using binlog position for snapshot", "file", file, "pos", pos, "gtids", gtids)
	}
	o.txMetadata = c.cfg.txMetadata
	o.snapshotType = "INITIAL"
	o.snapshotCompleted = false
	o.snapshotRc = debezium.SnapshotTrue

	c.log.Info("snapshot step 5 - reading structure of captured tables")
	em.holding = true
	now := c.now()
	c.model = newSchemaModel()
	c.schemas = map[TableID]*tableSchema{}
	cs, coll, err := serverCharset(ctx, conn)
	if err != nil {
		return nil, err
	}
	setStmt := "SET character_set_server=" + cs + ", collation_server=" + coll + ";"
	if _, err := c.handleDDL(ctx, em, o, setStmt, "", now, true); err != nil {
		return nil, err
	}
	for _, id := range schemaTables {
		if _, err := c.handleDDL(ctx, em, o, "DROP TABLE IF EXISTS "+id.quoted(), id.DB, c.now(), true); err != nil {
			return nil, err
		}
	}
	dbLocales, err := databaseCollations(ctx, conn)
	if err != nil {
		return nil, err
	}
	byDB := map[string][]TableID{}
	var dbs []string
	for _, id := range schemaTables {
		if _, ok := byDB[id.DB]; !ok {
			dbs = append(dbs, id.DB)
		}
		byDB[id.DB] = append(byDB[id.DB], id)
	}
	for _, db := range dbs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.log.Info("reading structure of database", "database", db)
		stmts := []string{"DROP DATABASE IF EXISTS " + quoteIdent(db)}
		create := "CREATE DATABASE " + quoteIdent(db)
		if l, ok := dbLocales[db]; ok {
			if l[0] != "" {
				create += " CHARSET " + l[0]
			}
			if l[1] != "" {
				create += " COLLATE " + l[1]
			}
		}
		stmts = append(stmts, create, "USE "+quoteIdent(db))
		for _, st := range stmts {
			if _, err := c.handleDDL(ctx, em, o, st, db, c.now(), true); err != nil {
				return nil, err
			}
		}
		for _, id := range byDB[db] {
			var name, ddl string
			if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+id.quoted()).Scan(&name, &ddl); err != nil {
				return nil, fmt.Errorf("snapshot: SHOW CREATE TABLE %s: %w", id, err)
			}
			if _, err := c.handleDDL(ctx, em, o, ddl, db, c.now(), true); err != nil {
				return nil, fmt.Errorf("snapshot: table %s: %w", id, err)
			}
		}
	}
	if c.cfg.lockingMode == "minimal" || c.cfg.lockingMode == "minimal_percona" || c.cfg.lockingMode == "minimal_percona_no_table_locks" {
		// Table locks (the fallback) cannot be released early: UNLOCK
		// TABLES would commit the consistent snapshot transaction.
		if globalLocked {
			if err := unlock(); err != nil {
				return nil, err
			}
			c.log.Info("writes to the database were prevented", "for", time.Since(lockStart).Round(time.Millisecond))
		}
	}

	if data {
		// snapshot.include.collection.list: the data of only these of the
		// captured tables (their structure is captured either way)
		var dataTables []TableID
		for _, id := range captured {
			if c.cfg.snapshotTables == nil || c.cfg.snapshotTables.Match(id.DB+"."+id.Table) {
				dataTables = append(dataTables, id)
			}
		}
		c.log.Info("snapshot step 7 - snapshotting data", "tables", len(dataTables), "threads", len(readers)+1)
		metrics.ForTask(ctx).SnapshotStarted(len(dataTables))
		if len(readers) > 0 && len(dataTables) > 1 {
			if err := t.snapshotParallel(ctx, append([]*sql.Conn{conn}, readers...), em, o, dataTables); err != nil {
				metrics.ForTask(ctx).SnapshotAborted()
				return nil, err
			}
		} else {
			for i, id := range dataTables {
				if err := t.snapshotTable(ctx, conn, em, o, id, i == 0, i == len(dataTables)-1, i+1, len(dataTables), "", "initial"); err != nil {
					metrics.ForTask(ctx).SnapshotAborted()
					return nil, err
				}
			}
		}
	} else {
		c.log.Info("snapshot step 7 - skipping snapshotting of data")
	}
	if err := unlock(); err != nil {
		return nil, err
	}
	if err := exec("COMMIT"); err != nil {
		return nil, err
	}
	o.snapshotType = ""
	o.snapshotCompleted = true
	o.snapshotRc = ""
	// The last record marks the end of the snapshot: its offset no longer
	// says a snapshot is running, and its source says "last".
	if err := em.releaseHeld(ctx, markLastSnapshotRecord); err != nil {
		return nil, err
	}
	metrics.ForTask(ctx).SnapshotCompleted()
	c.log.Info("snapshot completed", "tables", len(captured))
	return o, nil
}

// markLastSnapshotRecord edits a snapshot's last record: its offset no
// longer says a snapshot is running, and its source says "last".
func markLastSnapshotRecord(r *connect.Record) {
	off := make(map[string]any, len(r.SourceOffset))
	for k, v := range r.SourceOffset {
		if k != offSnapshot {
			off[k] = v
		}
	}
	r.SourceOffset = off
	if sv, ok := r.Value.(*connect.StructValue); ok && sv.Schema.Field("source") != nil {
		if src, ok := sv.Get("source").(*connect.StructValue); ok {
			cp := &connect.StructValue{Schema: src.Schema, Values: append([]any(nil), src.Values...)}
			cp.Set("snapshot", debezium.SnapshotLast)
			nv := &connect.StructValue{Schema: sv.Schema, Values: append([]any(nil), sv.Values...)}
			nv.Set("source", cp)
			r.Value = nv
		}
	}
}

// snapshotTable streams one table's rows as read events: with stmt, or
// snapshot.select.statement.overrides, or SELECT *. kind names the
// snapshot in progress reports.
func (t *task) snapshotTable(ctx context.Context, conn *sql.Conn, em *emitter, o *offsetState, id TableID, firstTable, lastTable bool, order, count int, stmt, kind string) error {
	c := t.c
	ts, err := c.schemaFor(id)
	if err != nil {
		return err
	}
	if ts == nil {
		return fmt.Errorf("snapshot: no schema known for table %s", id)
	}
	start := time.Now()
	query := "SELECT * FROM " + id.quoted()
	if q, ok := c.cfg.selectOverrides[id]; ok {
		// snapshot.select.statement.overrides.<database>.<table>
		query = q
	}
	if stmt != "" {
		query = stmt
	}
	var estimate sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", id.DB, id.Table).Scan(&estimate); err != nil {
		c.log.Debug("no row estimate for table", "table", id.String(), "error", err)
	}
	progress := metrics.ForTask(ctx).StartProgress(id.String(), estimate.Int64, kind)
	c.log.Info("exporting data from table", "table", id.String(), "order", order, "of", count, "query", query, "estimated_rows", estimate.Int64)
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("snapshot: read table %s with %q: %w", id, query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if len(cols) != len(ts.table.Columns) {
		return fmt.Errorf("snapshot: table %s: %q returns %d columns but the table has %d; a snapshot.select.statement.overrides statement must return every column, in the table's order", id, query, len(cols), len(ts.table.Columns))
	}
	raw := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var n int64
	lastLog := time.Now()
	ids := []TableID{id}
	var recs []*connect.Record
	hasNext := rows.Next()
	for hasNext {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("snapshot: read table %s: %w", id, err)
		}
		n++
		key, value, err := ts.rowValue(func(ci int, cv *converter) (any, error) {
			if raw[ci] == nil {
				return cv.fromText(nil)
			}
			return cv.fromText(raw[ci])
		})
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		hasNext = rows.Next()
		o.snapshotRc = snapshotMarker(firstTable && n == 1, lastTable && !hasNext, n == 1, !hasNext)
		o.tableEvent(id.DB, ids, c.now())
		recs = c.dataRecords(recs[:0], ts, debezium.OpRead, nil, nil, key, value, o, nil)
		for _, r := range recs {
			if err := em.emit(ctx, r); err != nil {
				return err
			}
		}
		if n%1024 == 0 {
			progress.Rows(n)
			if time.Since(lastLog) >= snapshotProgressInterval {
				c.log.Info("exported records", progress.LogAttrs()...)
				lastLog = time.Now()
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("snapshot: read table %s: %w", id, err)
	}
	progress.Rows(n)
	progress.Done()
	c.log.Info("finished exporting table", "table", id.String(), "rows", n, "order", order, "of", count, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// snapshotMarker is SnapshotMarkerResolver.resolve.
func snapshotMarker(first, last, firstInTable, lastInTable bool) string {
	switch {
	case first:
		return debezium.SnapshotFirst
	case last:
		return debezium.SnapshotLast
	case firstInTable:
		return debezium.SnapshotFirstInDataCollection
	case lastInTable:
		return debezium.SnapshotLastInDataCollection
	}
	return debezium.SnapshotTrue
}

// listTables lists every base table of every database.
func listTables(ctx context.Context, conn *sql.Conn) ([]TableID, error) {
	rows, err := conn.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("snapshot: SHOW DATABASES: %w", err)
	}
	var dbs []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return nil, err
		}
		dbs = append(dbs, d)
	}
	rows.Close()
	var out []TableID
	for _, d := range dbs {
		r, err := conn.QueryContext(ctx, "SHOW FULL TABLES IN "+quoteIdent(d)+" WHERE Table_type = 'BASE TABLE'")
		if err != nil {
			// unreadable databases are skipped, as in Debezium
			continue
		}
		for r.Next() {
			var name, typ string
			if err := r.Scan(&name, &typ); err != nil {
				r.Close()
				return nil, err
			}
			out = append(out, TableID{DB: d, Table: name})
		}
		r.Close()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DB != out[j].DB {
			return out[i].DB < out[j].DB
		}
		return out[i].Table < out[j].Table
	})
	return out, nil
}

func serverCharset(ctx context.Context, conn *sql.Conn) (cs, coll string, err error) {
	rows, err := conn.QueryContext(ctx, "SHOW VARIABLES WHERE Variable_name IN ('character_set_server','collation_server')")
	if err != nil {
		return "", "", fmt.Errorf("snapshot: read charset variables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return "", "", err
		}
		switch k {
		case "character_set_server":
			cs = v
		case "collation_server":
			coll = v
		}
	}
	return cs, coll, rows.Err()
}

func databaseCollations(ctx context.Context, conn *sql.Conn) (map[string][2]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT schema_name, default_character_set_name, default_collation_name FROM information_schema.schemata")
	if err != nil {
		return nil, fmt.Errorf("snapshot: read database charsets: %w", err)
	}
	defer rows.Close()
	out := map[string][2]string{}
	for rows.Next() {
		var n string
		var cs, coll sql.NullString
		if err := rows.Scan(&n, &cs, &coll); err != nil {
			return nil, err
		}
		out[n] = [2]string{cs.String, coll.String}
	}
	return out, rows.Err()
}
