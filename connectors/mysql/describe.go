package mysql

import (
	"context"
	"fmt"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// describeSchemas returns the key and value (envelope) schemas of every
// captured table as a snapshot started now would build them; it
// implements connect.Plugin.DescribeSchemas for `tributary schema
// check/export`. It reads the structure the way the snapshot does (the
// session the snapshot sets up, the server and database charsets, SHOW
// CREATE TABLE through the connector's DDL parser) and builds the schemas
// with the task's own code, so names, filters, key columns, column
// mappers and type options are those the events carry. Keyless tables
// have a nil Key. Nothing is locked and no schema history is written.
func describeSchemas(ctx context.Context, f flavor, v *config.Values) ([]connect.TopicSchema, error) {
	c, err := newConnectorState(f, v, connect.TaskContext{})
	if err != nil {
		return nil, err
	}
	db, err := c.cfg.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to %s:%d: %w", c.cfg.host, c.cfg.port, err)
	}
	defer conn.Close()
	// The snapshot's session: initial statements can change what SHOW
	// CREATE TABLE prints (sql_mode), and TIMESTAMP defaults are shown in
	// the session time zone, which the snapshot sets to UTC.
	session := append(append([]string(nil), c.cfg.initialStatements...), "SET SESSION time_zone = '+00:00'")
	for _, st := range session {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return nil, fmt.Errorf("describe: %s: %w", st, err)
		}
	}
	all, err := listTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	var captured []TableID
	for _, id := range all {
		if c.captured(id) {
			captured = append(captured, id)
		}
	}
	sortedTableIDs(captured)

	// Charsets decide whether CHAR/TEXT columns are strings or bytes, so the
	// model gets the server's and each database's, as in the snapshot.
	cs, coll, err := serverCharset(ctx, conn)
	if err != nil {
		return nil, err
	}
	if _, err := c.model.applyDDL("SET character_set_server="+cs+", collation_server="+coll+";", ""); err != nil {
		return nil, fmt.Errorf("describe: server charset %s/%s: %w", cs, coll, err)
	}
	locales, err := databaseCollations(ctx, conn)
	if err != nil {
		return nil, err
	}
	seenDB := map[string]bool{}
	out := make([]connect.TopicSchema, 0, len(captured))
	for _, id := range captured {
		if !seenDB[id.DB] {
			seenDB[id.DB] = true
			create := "CREATE DATABASE " + quoteIdent(id.DB)
			if l, ok := locales[id.DB]; ok {
				if l[0] != "" {
					create += " CHARSET " + l[0]
				}
				if l[1] != "" {
					create += " COLLATE " + l[1]
				}
			}
			if _, err := c.model.applyDDL(create, id.DB); err != nil {
				return nil, fmt.Errorf("describe: database %s: %w", id.DB, err)
			}
		}
		var name, ddl string
		if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+id.quoted()).Scan(&name, &ddl); err != nil {
			return nil, fmt.Errorf("describe: SHOW CREATE TABLE %s: %w", id, err)
		}
		if _, err := c.model.applyDDL(ddl, id.DB); err != nil {
			return nil, fmt.Errorf("describe: table %s: %w", id, err)
		}
		ts, err := c.schemaFor(id)
		if err != nil {
			return nil, fmt.Errorf("describe: table %s: %w", id, err)
		}
		if ts == nil {
			return nil, fmt.Errorf("describe: table %s: SHOW CREATE TABLE did not define it", id)
		}
		out = append(out, connect.TopicSchema{Topic: ts.topic, Key: ts.keyS, Value: ts.envelope})
	}
	return out, nil
}
