package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/doctor"
)

// Doctor runs tributary doctor's preflight checks for one PostgreSQL
// connector: the server settings and privileges logical decoding needs,
// the slot and wal sender headroom, the publication and the replica
// identity of every captured table. It connects with the connector's own
// connection settings and changes nothing on the server.
func Doctor(ctx context.Context, name string, v *config.Values, opts doctor.Options) []doctor.Check {
	add := func(out []doctor.Check, check string, st doctor.Status, detail, fix string) []doctor.Check {
		return append(out, doctor.Check{Scope: name, Name: check, Status: st, Detail: detail, Fix: fix})
	}
	var out []doctor.Check
	c, err := parseConfig(v, slog.New(slog.DiscardHandler))
	if err != nil {
		return add(out, "configuration", doctor.Fail, err.Error(), "correct the property named in the error")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+opts.WALSample)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn(false))
	if err != nil {
		return add(out, "connection", doctor.Fail, fmt.Sprintf("cannot connect to %s:%d/%s as %s: %v", c.host, c.port, c.dbname, c.user, v.Scrubber().Error(explainConnect(err))),
			"check database.hostname, database.port, database.dbname, database.user, database.password and pg_hba.conf")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	out = add(out, "connection", doctor.Pass, fmt.Sprintf("connected to %s:%d/%s as %s", c.host, c.port, c.dbname, c.user), "")

	setting := func(n string) (string, error) {
		var s string
		err := conn.QueryRow(ctx, "SELECT setting FROM pg_catalog.pg_settings WHERE name = $1", n).Scan(&s)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", n, err)
		}
		return s, nil
	}
	intSetting := func(n string) (int, error) {
		s, err := setting(n)
		if err != nil {
			return 0, err
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %w", n, s, err)
		}
		return i, nil
	}

	if wl, err := setting("wal_level"); err != nil {
		out = add(out, "wal_level", doctor.Fail, err.Error(), "")
	} else if wl != "logical" {
		out = add(out, "wal_level", doctor.Fail, "wal_level="+wl+"; logical decoding needs logical",
			"ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL")
	} else {
		out = add(out, "wal_level", doctor.Pass, "wal_level=logical", "")
	}

	var super, repl bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper, rolreplication FROM pg_catalog.pg_roles WHERE rolname = current_user").Scan(&super, &repl); err != nil {
		out = add(out, "replication privilege", doctor.Fail, fmt.Sprintf("read the attributes of %s: %v", c.user, err), "")
	} else if !super && !repl {
		out = add(out, "replication privilege", doctor.Fail, fmt.Sprintf("role %s has neither REPLICATION nor SUPERUSER", c.user),
			"ALTER ROLE "+pgx.Identifier{c.user}.Sanitize()+" REPLICATION")
	} else {
		out = add(out, "replication privilege", doctor.Pass, fmt.Sprintf("role %s may replicate (superuser=%t, replication=%t)", c.user, super, repl), "")
	}

	out = append(out, c.doctorSlots(ctx, conn, name, intSetting)...)
	out = append(out, c.doctorWALKeep(ctx, conn, name, setting, opts)...)

	t := &pgTask{cfg: c}
	tables, err := t.capturedTablesOn(ctx, conn)
	if err != nil {
		return add(out, "captured tables", doctor.Fail, err.Error(), "")
	}
	if len(tables) == 0 {
		out = add(out, "captured tables", doctor.Warn, "no table of "+c.dbname+" matches schema.include.list/table.include.list and their exclude lists",
			"check the include and exclude lists; the connector would capture nothing")
	} else {
		out = add(out, "captured tables", doctor.Pass, fmt.Sprintf("%d table(s)", len(tables)), "")
	}
	out = append(out, c.doctorPublication(ctx, conn, name, super, tables)...)
	out = append(out, doctorReplicaIdentity(ctx, conn, name, tables)...)
	return out
}

// doctorSlots checks that the connector's slot exists or there is room to
// create it, and that a wal sender is free to stream from it.
func (c *pgConfig) doctorSlots(ctx context.Context, conn *pgx.Conn, name string, intSetting func(string) (int, error)) []doctor.Check {
	var out []doctor.Check
	add := func(check string, st doctor.Status, detail, fix string) {
		out = append(out, doctor.Check{Scope: name, Name: check, Status: st, Detail: detail, Fix: fix})
	}
	maxSlots, err := intSetting("max_replication_slots")
	if err != nil {
		add("max_replication_slots", doctor.Fail, err.Error(), "")
		return out
	}
	var used int
	var others []string
	var exists bool
	var walStatus, plugin string
	rows, err := conn.Query(ctx, "SELECT slot_name, coalesce(plugin, ''), coalesce(wal_status, '') FROM pg_catalog.pg_replication_slots ORDER BY slot_name")
	if err != nil {
		add("max_replication_slots", doctor.Fail, "list replication slots: "+err.Error(), "")
		return out
	}
	for rows.Next() {
		var s, p, ws string
		if err := rows.Scan(&s, &p, &ws); err != nil {
			rows.Close()
			add("max_replication_slots", doctor.Fail, "list replication slots: "+err.Error(), "")
			return out
		}
		used++
		if s == c.slotName {
			exists, walStatus, plugin = true, ws, p
		} else {
			others = append(others, s)
		}
	}
	rows.Close()
	switch {
	case exists && walStatus == "lost":
		add("replication slot", doctor.Fail, fmt.Sprintf("slot %s lost WAL it needed (wal_status=lost, max_slot_wal_keep_size exceeded): streaming cannot resume without a gap", c.slotName),
			fmt.Sprintf("SELECT pg_drop_replication_slot('%s'); then take a new snapshot (delete the connector's offsets or use snapshot.mode=when_needed)", c.slotName))
	case exists && plugin != "pgoutput":
		add("replication slot", doctor.Fail, fmt.Sprintf("slot %s uses plugin %s; Tributary decodes pgoutput", c.slotName, plugin),
			fmt.Sprintf("use another slot.name, or drop the slot (SELECT pg_drop_replication_slot('%s')) and take a new snapshot", c.slotName))
	case exists:
		add("replication slot", doctor.Pass, fmt.Sprintf("slot %s exists (wal_status=%s); capture resumes from it", c.slotName, walStatus), "")
	case used >= maxSlots:
		add("max_replication_slots", doctor.Fail, fmt.Sprintf("all %d replication slots are in use (%s); slot %s cannot be created", maxSlots, strings.Join(others, ", "), c.slotName),
			fmt.Sprintf("drop unused slots (SELECT pg_drop_replication_slot('name')) or ALTER SYSTEM SET max_replication_slots = %d; then restart PostgreSQL", maxSlots+1))
	default:
		add("max_replication_slots", doctor.Pass, fmt.Sprintf("%d of %d slots in use; slot %s will be created", used, maxSlots, c.slotName), "")
	}

	maxSenders, err := intSetting("max_wal_senders")
	if err != nil {
		add("max_wal_senders", doctor.Fail, err.Error(), "")
		return out
	}
	var senders int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'walsender'").Scan(&senders); err != nil {
		add("max_wal_senders", doctor.Fail, "count wal senders: "+err.Error(), "")
		return out
	}
	if senders >= maxSenders {
		add("max_wal_senders", doctor.Fail, fmt.Sprintf("all %d wal senders are busy; the connector's replication connection would be refused", maxSenders),
			fmt.Sprintf("ALTER SYSTEM SET max_wal_senders = %d; then restart PostgreSQL (or stop an idle replication client)", maxSenders+1))
	} else {
		add("max_wal_senders", doctor.Pass, fmt.Sprintf("%d of %d wal senders busy", senders, maxSenders), "")
	}
	return out
}

// doctorPublication checks that the publication exists and publishes every
// captured table, or that the connector may create it
// (publication.autocreate.mode).
func (c *pgConfig) doctorPublication(ctx context.Context, conn *pgx.Conn, name string, super bool, tables []tableID) []doctor.Check {
	chk := doctor.Check{Scope: name, Name: "publication"}
	var allTables bool
	err := conn.QueryRow(ctx, "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1", c.publication).Scan(&allTables)
	if err == pgx.ErrNoRows {
		switch {
		case c.pubMode == "disabled":
			chk.Status = doctor.Fail
			chk.Detail = fmt.Sprintf("publication %s does not exist and publication.autocreate.mode=disabled", c.publication)
			chk.Fix = fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s; or set publication.autocreate.mode=filtered", pgx.Identifier{c.publication}.Sanitize(), quotedList(tables))
		case c.pubMode == "all_tables" && !super:
			chk.Status = doctor.Fail
			chk.Detail = fmt.Sprintf("publication %s does not exist and publication.autocreate.mode=all_tables needs a superuser to create it (FOR ALL TABLES)", c.publication)
			chk.Fix = fmt.Sprintf("as a superuser: CREATE PUBLICATION %s FOR ALL TABLES; or set publication.autocreate.mode=filtered (the user must own the captured tables)", pgx.Identifier{c.publication}.Sanitize())
		default:
			chk.Status = doctor.Pass
			chk.Detail = fmt.Sprintf("publication %s will be created (publication.autocreate.mode=%s)", c.publication, c.pubMode)
		}
		return []doctor.Check{chk}
	}
	if err != nil {
		chk.Status, chk.Detail = doctor.Fail, "read publication "+c.publication+": "+err.Error()
		return []doctor.Check{chk}
	}
	if allTables {
		chk.Status, chk.Detail = doctor.Pass, fmt.Sprintf("publication %s publishes all tables", c.publication)
		return []doctor.Check{chk}
	}
	published := map[tableID]bool{}
	rows, err := conn.Query(ctx, "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1", c.publication)
	if err != nil {
		chk.Status, chk.Detail = doctor.Fail, "list the tables of publication "+c.publication+": "+err.Error()
		return []doctor.Check{chk}
	}
	for rows.Next() {
		var id tableID
		if err := rows.Scan(&id.Schema, &id.Table); err == nil {
			published[id] = true
		}
	}
	rows.Close()
	var missing []tableID
	for _, t := range tables {
		if !published[t] {
			missing = append(missing, t)
		}
	}
	switch {
	case len(missing) == 0:
		chk.Status, chk.Detail = doctor.Pass, fmt.Sprintf("publication %s publishes all %d captured tables", c.publication, len(tables))
	case c.pubMode == "filtered":
		chk.Status = doctor.Pass
		chk.Detail = fmt.Sprintf("publication %s lacks %s; publication.autocreate.mode=filtered sets its tables at start", c.publication, quotedList(missing))
	default:
		chk.Status = doctor.Fail
		chk.Detail = fmt.Sprintf("publication %s does not publish %s: their changes would never be streamed", c.publication, quotedList(missing))
		chk.Fix = fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s; or set publication.autocreate.mode=filtered", pgx.Identifier{c.publication}.Sanitize(), quotedList(missing))
	}
	return []doctor.Check{chk}
}

// doctorReplicaIdentity checks each captured table's REPLICA IDENTITY:
// PostgreSQL refuses UPDATE and DELETE on a published table without one,
// and a table without a primary key produces events without a key.
func doctorReplicaIdentity(ctx context.Context, conn *pgx.Conn, name string, tables []tableID) []doctor.Check {
	var out []doctor.Check
	var noIdentity, noKey []tableID
	for _, t := range tables {
		var ident string
		var hasPK bool
		err := conn.QueryRow(ctx, `SELECT c.relreplident::text,
			EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2`, t.Schema, t.Table).Scan(&ident, &hasPK)
		if err != nil {
			out = append(out, doctor.Check{Scope: name, Name: "replica identity", Status: doctor.Fail, Detail: fmt.Sprintf("read the replica identity of %s: %v", t, err)})
			continue
		}
		if !hasPK {
			noKey = append(noKey, t)
		}
		if ident == "n" || (ident == "d" && !hasPK) {
			noIdentity = append(noIdentity, t)
		}
	}
	if len(noIdentity) > 0 {
		var fixes []string
		for _, t := range noIdentity {
			fixes = append(fixes, "ALTER TABLE "+t.quoted()+" REPLICA IDENTITY FULL;")
		}
		out = append(out, doctor.Check{Scope: name, Name: "replica identity", Status: doctor.Fail,
			Detail: "no replica identity (UPDATE and DELETE fail once the table is published, and events lack the old row): " + quotedList(noIdentity),
			Fix:    "add a primary key, or " + strings.Join(fixes, " ")})
	} else if len(tables) > 0 {
		out = append(out, doctor.Check{Scope: name, Name: "replica identity", Status: doctor.Pass, Detail: fmt.Sprintf("all %d captured tables have a replica identity", len(tables))})
	}
	if len(noKey) > 0 {
		out = append(out, doctor.Check{Scope: name, Name: "primary keys", Status: doctor.Warn,
			Detail: "without a primary key, so their events have a null key (no per-row ordering across partitions): " + quotedList(noKey),
			Fix:    "add primary keys, or set message.key.columns for these tables"})
	}
	return out
}

func quotedList(ts []tableID) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = t.quoted()
	}
	return strings.Join(q, ", ")
}
