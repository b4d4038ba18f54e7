package postgres

import (
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tributary-io/tributary/internal/doctor"
)

// walStatsMinAge is how long pg_stat_wal must have been counting before
// its average is trusted: on a server started (or reset) moments ago the
// average is dominated by start-up and initial loading.
const walStatsMinAge = 10 * time.Minute

// walEstimate is the server's WAL write rate as doctor measured it.
type walEstimate struct {
	rate  float64  // bytes per second; negative when nothing could be measured
	notes []string // how each figure was obtained, or why not
}

// estimateWAL measures how fast the server writes WAL, two ways, and
// keeps the higher figure (the busier period is the one to plan for):
//   - pg_stat_wal (PostgreSQL 14+): wal_bytes divided by the time since
//     its statistics were last reset, the long-run average, used once the
//     statistics are at least walStatsMinAge old;
//   - two readings of pg_current_wal_lsn() sample apart: the current rate.
func estimateWAL(ctx context.Context, conn *pgx.Conn, sample time.Duration) walEstimate {
	est := walEstimate{rate: -1}
	var bytes, age float64
	err := conn.QueryRow(ctx, "SELECT wal_bytes::float8, extract(epoch FROM now() - stats_reset)::float8 FROM pg_catalog.pg_stat_wal WHERE stats_reset IS NOT NULL").Scan(&bytes, &age)
	switch {
	case err != nil:
		est.notes = append(est.notes, "pg_stat_wal not readable ("+firstLine(err.Error())+")")
	case time.Duration(age*float64(time.Second)) < walStatsMinAge:
		est.notes = append(est.notes, fmt.Sprintf("pg_stat_wal reset only %s ago, too recent for an average", time.Duration(age*float64(time.Second)).Round(time.Second)))
	default:
		r := bytes / age
		est.rate = r
		est.notes = append(est.notes, fmt.Sprintf("pg_stat_wal: %s/s on average over %s", humanBytes(r), time.Duration(age*float64(time.Second)).Round(time.Minute)))
	}
	if sample > 0 {
		var start string
		if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&start); err != nil {
			est.notes = append(est.notes, "pg_current_wal_lsn() not readable ("+firstLine(err.Error())+")")
			return est
		}
		t0 := time.Now()
		select {
		case <-time.After(sample):
		case <-ctx.Done():
			est.notes = append(est.notes, "WAL sampling interrupted: "+ctx.Err().Error())
			return est
		}
		var written float64
		if err := conn.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8", start).Scan(&written); err != nil {
			est.notes = append(est.notes, "pg_current_wal_lsn() not readable ("+firstLine(err.Error())+")")
			return est
		}
		r := written / time.Since(t0).Seconds()
		est.rate = max(est.rate, r)
		est.notes = append(est.notes, fmt.Sprintf("pg_current_wal_lsn() sampled over %s: %s/s", sample, humanBytes(r)))
	}
	return est
}

// walVolumeFree returns the free bytes of the file system holding the
// server's WAL, when doctor runs on the database host (a loopback or
// socket connection) and may read data_directory (superuser or
// pg_read_all_settings); ok is false otherwise.
func (c *pgConfig) walVolumeFree(ctx context.Context, conn *pgx.Conn) (free uint64, dir string, ok bool) {
	local := strings.HasPrefix(c.host, "/") || c.host == "localhost"
	if ip := net.ParseIP(c.host); ip != nil && ip.IsLoopback() {
		local = true
	}
	if !local {
		return 0, "", false
	}
	if err := conn.QueryRow(ctx, "SELECT current_setting('data_directory') || '/pg_wal'").Scan(&dir); err != nil {
		return 0, "", false
	}
	free, ok = diskFree(dir)
	return free, dir, ok
}

// doctorWALKeep compares the WAL the server is expected to write while the
// connector is down (the measured rate times --downtime) with what the
// slot may keep: max_slot_wal_keep_size invalidates the slot (a gap, then
// a new snapshot) once it is exceeded; without a limit the WAL volume must
// hold it all.
func (c *pgConfig) doctorWALKeep(ctx context.Context, conn *pgx.Conn, name string, setting func(string) (string, error), opts doctor.Options) []doctor.Check {
	chk := doctor.Check{Scope: name, Name: "max_slot_wal_keep_size"}
	s, err := setting("max_slot_wal_keep_size")
	if err != nil {
		chk.Status, chk.Detail = doctor.Fail, err.Error()
		return []doctor.Check{chk}
	}
	est := estimateWAL(ctx, conn, opts.WALSample)
	expected := est.rate * opts.Downtime.Seconds()
	how := strings.Join(est.notes, "; ")
	known := est.rate >= 0
	if s == "-1" {
		free, dir, freeKnown := c.walVolumeFree(ctx, conn)
		switch {
		case known && freeKnown && expected >= float64(free):
			chk.Status = doctor.Fail
			chk.Detail = fmt.Sprintf("unlimited (-1): at %s/s the slot keeps about %s of WAL during a %s downtime, more than the %s free in %s (%s)", humanBytes(est.rate), humanBytes(expected), opts.Downtime, humanBytes(float64(free)), dir, how)
			chk.Fix = fmt.Sprintf("make room for %s of WAL, or set max_slot_wal_keep_size below the free space (ALTER SYSTEM SET max_slot_wal_keep_size = '%dMB'; SELECT pg_reload_conf()) accepting a new snapshot after a longer downtime, or pass a shorter --downtime", humanBytes(expected), int64(float64(free)*0.8)>>20)
		case known && freeKnown:
			chk.Status = doctor.Pass
			chk.Detail = fmt.Sprintf("unlimited (-1): at %s/s the slot keeps about %s of WAL during a %s downtime; %s is free in %s (%s)", humanBytes(est.rate), humanBytes(expected), opts.Downtime, humanBytes(float64(free)), dir, how)
		default:
			chk.Status = doctor.Warn
			chk.Detail = "unlimited (-1): while the connector is stopped its slot keeps every WAL segment, which can fill the disk"
			if known {
				chk.Detail += fmt.Sprintf("; at %s/s that is about %s during a %s downtime (%s)", humanBytes(est.rate), humanBytes(expected), opts.Downtime, how)
			} else {
				chk.Detail += " (WAL rate not measured: " + how + ")"
			}
			chk.Fix = "size the WAL volume for the expected downtime, or set max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf()) and watch slot.lag.warning.bytes"
		}
		return []doctor.Check{chk}
	}
	mb, _ := strconv.ParseInt(s, 10, 64)
	limit := float64(mb) * (1 << 20)
	var safe string
	if err := conn.QueryRow(ctx, "SELECT coalesce(safe_wal_size, -1)::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", c.slotName).Scan(&safe); err == nil {
		if n, _ := strconv.ParseInt(safe, 10, 64); n >= 0 && n < mb<<20/10 {
			chk.Status = doctor.Fail
			chk.Detail = fmt.Sprintf("slot %s has only %d bytes left before max_slot_wal_keep_size=%dMB invalidates it", c.slotName, n, mb)
			chk.Fix = "start the connector now, or raise max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = ...; SELECT pg_reload_conf())"
			return []doctor.Check{chk}
		}
	}
	switch {
	case known && expected > limit:
		chk.Status = doctor.Fail
		chk.Detail = fmt.Sprintf("%dMB, but at %s/s the server writes about %s of WAL during a %s downtime: a connector stopped that long loses its slot and needs a new snapshot (%s)", mb, humanBytes(est.rate), humanBytes(expected), opts.Downtime, how)
		chk.Fix = fmt.Sprintf("ALTER SYSTEM SET max_slot_wal_keep_size = '%dMB'; SELECT pg_reload_conf(); (with that much room on the WAL volume), or pass a shorter --downtime", int64(math.Ceil(expected*1.5/(1<<20))))
	case known:
		chk.Status = doctor.Pass
		chk.Detail = fmt.Sprintf("%dMB covers the about %s of WAL written during a %s downtime at %s/s (%s)", mb, humanBytes(expected), opts.Downtime, humanBytes(est.rate), how)
	default:
		chk.Status = doctor.Pass
		chk.Detail = fmt.Sprintf("%dMB: keep it above the WAL written during the longest expected downtime (%s), or the slot is invalidated and needs a new snapshot (WAL rate not measured: %s)", mb, opts.Downtime, how)
	}
	return []doctor.Check{chk}
}

// humanBytes renders a byte count with a binary unit.
func humanBytes(b float64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%.0f B", b)
	}
	exp, v := 0, b/unit
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[exp])
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
