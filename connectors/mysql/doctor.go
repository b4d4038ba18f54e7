package mysql

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/doctor"
)

// Doctor runs tributary doctor's preflight checks for one MySQL or MariaDB
// connector (class is its connector.class): binlog settings, GTIDs, binlog
// retention against the expected downtime and the user's privileges. It
// connects with the connector's own settings and changes nothing.
func Doctor(ctx context.Context, name, class string, v *config.Values, opts doctor.Options) []doctor.Check {
	var out []doctor.Check
	add := func(check string, st doctor.Status, detail, fix string) {
		out = append(out, doctor.Check{Scope: name, Name: check, Status: st, Detail: detail, Fix: fix})
	}
	f := mysqlFlavor
	if class == mariadbFlavor.class || (class != mysqlFlavor.class && containsFold(mariadbFlavor.aliases, class)) {
		f = mariadbFlavor
	}
	s, err := parseSettings(f, v)
	if err != nil {
		add("configuration", doctor.Fail, err.Error(), "correct the property named in the error")
		return out
	}
	db, err := s.openDB()
	if err != nil {
		add("connection", doctor.Fail, err.Error(), "check database.ssl.* properties")
		return out
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	vars := map[string]string{}
	rows, err := db.QueryContext(ctx, `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version','log_bin','binlog_format','binlog_row_image',
		'gtid_mode','enforce_gtid_consistency','gtid_strict_mode','expire_logs_days','binlog_expire_logs_seconds')`)
	if err != nil {
		add("connection", doctor.Fail, fmt.Sprintf("cannot connect to %s:%d as %s: %v", s.host, s.port, s.user, v.Scrubber().Error(err)),
			"check database.hostname, database.port, database.user and database.password, and that the user may connect from this host")
		return out
	}
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err == nil {
			vars[strings.ToLower(k)] = val
		}
	}
	rows.Close()
	mariadb := strings.Contains(strings.ToLower(vars["version"]), "mariadb")
	add("connection", doctor.Pass, fmt.Sprintf("connected to %s:%d as %s (server %s)", s.host, s.port, s.user, vars["version"]), "")

	if !strings.EqualFold(vars["log_bin"], "ON") {
		add("log_bin", doctor.Fail, "the binary log is disabled (log_bin=OFF)", "start the server with --log-bin and a --server-id")
	} else {
		add("log_bin", doctor.Pass, "log_bin=ON", "")
	}
	if bf := vars["binlog_format"]; !strings.EqualFold(bf, "ROW") {
		add("binlog_format", doctor.Fail, "binlog_format="+bf+"; the connector reads row events only",
			"SET GLOBAL binlog_format='ROW'; and binlog_format=ROW in the server configuration (sessions started before keep their format)")
	} else {
		add("binlog_format", doctor.Pass, "binlog_format=ROW", "")
	}
	if img := vars["binlog_row_image"]; img != "" && !strings.EqualFold(img, "FULL") {
		add("binlog_row_image", doctor.Fail, "binlog_row_image="+img+"; events would miss the columns an UPDATE did not change",
			"SET GLOBAL binlog_row_image='FULL'; and binlog_row_image=FULL in the server configuration")
	} else {
		add("binlog_row_image", doctor.Pass, "binlog_row_image="+orUnknown(img), "")
	}
	if mariadb {
		if !strings.EqualFold(vars["gtid_strict_mode"], "ON") {
			add("gtid_strict_mode", doctor.Warn, "gtid_strict_mode=OFF: after a fail-over the GTID position may not identify one binlog position",
				"SET GLOBAL gtid_strict_mode=ON; and gtid_strict_mode=ON in the server configuration")
		} else {
			add("gtid_strict_mode", doctor.Pass, "gtid_strict_mode=ON", "")
		}
	} else {
		if !strings.EqualFold(vars["gtid_mode"], "ON") {
			add("gtid_mode", doctor.Warn, "gtid_mode="+orUnknown(vars["gtid_mode"])+": offsets are binlog file/position only, which do not survive a fail-over to a replica",
				"enable GTIDs: enforce_gtid_consistency=ON and gtid_mode=ON (stepping through OFF_PERMISSIVE, ON_PERMISSIVE)")
		} else {
			add("gtid_mode", doctor.Pass, "gtid_mode=ON", "")
		}
	}
	out = append(out, doctorRetention(name, vars, opts))

	var problems []string
	if err := checkPrivileges(ctx, db, s, s.lockingMode != "none", &problems); err != nil {
		add("privileges", doctor.Fail, err.Error(), "")
	} else if len(problems) > 0 {
		detail, fix, _ := strings.Cut(problems[0], ": GRANT")
		add("privileges", doctor.Fail, detail, "GRANT"+fix)
	} else {
		add("privileges", doctor.Pass, "SELECT, REPLICATION SLAVE, REPLICATION CLIENT"+map[bool]string{true: ", RELOAD", false: ""}[s.lockingMode != "none"], "")
	}
	return out
}

// doctorRetention compares how long the server keeps binlogs with the
// expected downtime: a connector stopped longer finds its position purged.
func doctorRetention(name string, vars map[string]string, opts doctor.Options) doctor.Check {
	chk := doctor.Check{Scope: name, Name: "binlog retention"}
	var retention time.Duration
	var setting string
	if secs, err := strconv.ParseFloat(vars["binlog_expire_logs_seconds"], 64); err == nil && secs > 0 {
		retention, setting = time.Duration(secs)*time.Second, "binlog_expire_logs_seconds="+vars["binlog_expire_logs_seconds"]
	} else if days, err := strconv.ParseFloat(vars["expire_logs_days"], 64); err == nil && days > 0 {
		retention, setting = time.Duration(days*24*float64(time.Hour)), "expire_logs_days="+vars["expire_logs_days"]
	}
	switch {
	case retention == 0:
		chk.Status = doctor.Pass
		chk.Detail = "binlogs are never purged automatically (no expiry set); watch the disk"
	case retention < opts.Downtime:
		chk.Status = doctor.Fail
		chk.Detail = fmt.Sprintf("%s keeps binlogs %s, less than the expected downtime %s: a connector stopped that long resumes at a purged position", setting, retention, opts.Downtime)
		chk.Fix = fmt.Sprintf("SET GLOBAL binlog_expire_logs_seconds=%d; (and in the server configuration), or pass a shorter --downtime", int64((opts.Downtime + 24*time.Hour).Seconds()))
	default:
		chk.Status = doctor.Pass
		chk.Detail = fmt.Sprintf("%s keeps binlogs %s, longer than the expected downtime %s", setting, retention, opts.Downtime)
	}
	return chk
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
