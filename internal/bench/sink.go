package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/sinkrunner"
)

const sinkTopic = "pgsnap.public.bench"

// ensureSinkTopic makes sure the PostgreSQL snapshot topic (N change
// events of the bench table, as the PostgreSQL connector writes them)
// exists; the pg-snapshot scenario leaves it behind, otherwise it is
// produced here without being measured.
func (e *env) ensureSinkTopic(ctx context.Context) error {
	if e.topics[sinkTopic] {
		return nil
	}
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	e.progress("   producing %d change events into %s", e.cfg.Rows, sinkTopic)
	e.deleteTopics(sinkTopic)
	props := e.pgSourceProps("pgsnap", "snap_slot")
	props["snapshot.mode"] = "initial"
	props["slot.drop.on.stop"] = "true"
	r, err := e.runSnapshot(ctx, "setup", "bench-sink-setup", props, e.cfg.Rows)
	e.pgDropSlots(ctx, "snap_slot")
	if err != nil {
		return err
	}
	e.topics[sinkTopic] = true
	e.topicBytes = r.Bytes
	return nil
}

// sink applies the topic's N events to a table in target ("postgres" or
// "mariadb") through the JDBC sink and the sink runtime, and compares with
// bulk-loading the same rows (COPY FROM / LOAD DATA).
func (e *env) sink(ctx context.Context, target string) error {
	if err := e.ensureSinkTopic(ctx); err != nil {
		return err
	}
	scenario := SinkPG
	var url, user, driver, dsn string
	switch target {
	case "postgres":
		if err := e.pg.ExecContext(ctx, "postgres", "DROP DATABASE IF EXISTS sink", "CREATE DATABASE sink"); err != nil {
			return err
		}
		url, user = fmt.Sprintf("jdbc:postgresql://%s:%d/sink", e.pg.Host, e.pg.Port), "postgres"
		driver, dsn = "pgx", e.pg.DSN("sink")
	case "mariadb":
		scenario = SinkMy
		if err := e.ensureMy(ctx); err != nil {
			return err
		}
		if err := e.my.ExecContext(ctx, "", "DROP DATABASE IF EXISTS sink", "CREATE DATABASE sink"); err != nil {
			return err
		}
		url, user = fmt.Sprintf("jdbc:mariadb://%s:%d/sink", e.my.Host, e.my.Port), "root"
		driver, dsn = "mysql", e.my.DSN("sink")
	default:
		return fmt.Errorf("unknown sink target %q", target)
	}
	name := "bench-" + scenario
	c, err := runtime.ParseConnector(e.cfg.Plugins, config.Connector{Name: name, Config: map[string]string{
		"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
		"topics":          sinkTopic, "connection.url": url, "connection.username": user, "connection.password": "",
		"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
		"schema.evolution": "basic", "collection.name.format": "sink_bench",
	}})
	if err != nil {
		return err
	}
	kc, vc, err := runtime.Converters(e.cfg.Converters, c, e.worker)
	if err != nil {
		return err
	}
	chain, err := e.cfg.Transforms.Build(c.Values)
	if err != nil {
		return err
	}
	sc, err := e.saramaConfig()
	if err != nil {
		return err
	}
	n := int64(e.cfg.Rows)
	db, err := openConn(ctx, driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// The snapshot events arrive in id order on one partition, so the row
	// with the largest id is applied last; probing for it by primary key
	// costs the database next to nothing, unlike polling count(*).
	lastApplied := func() bool {
		_, ok, _ := db.QueryInt(ctx, fmt.Sprintf("SELECT id FROM sink_bench WHERE id = %d", n))
		return ok
	}
	m := startMeter()
	task, err := c.Plugin.NewSinkTask(ctx, c.Values, connect.TaskContext{ConnectorName: name, Logger: e.log})
	if err != nil {
		m.end()
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- sinkrunner.Run(rctx, sinkrunner.Config{Brokers: e.brokers, SaramaConfig: sc, ConnectorName: name, Props: c.Values,
			Task: task, TaskClass: c.Plugin.Class, KeyConverter: kc, ValueConverter: vc, Transforms: chain, Logger: e.log})
	}()
	deadline := time.Now().Add(timeoutFor(int(n)))
	var waitErr error
	for {
		if lastApplied() {
			break
		}
		if time.Now().After(deadline) {
			waitErr = fmt.Errorf("%s: row %d not in sink_bench after %s", scenario, n, timeoutFor(int(n)))
			break
		}
		select {
		case err := <-runErr:
			runErr <- err
			waitErr = fmt.Errorf("%s: sink stopped before applying row %d: %v", scenario, n, err)
		case <-ctx.Done():
			waitErr = ctx.Err()
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	elapsed, cpu, rss := m.end()
	cancel()
	if err := <-runErr; err != nil && waitErr == nil && rctx.Err() == nil {
		waitErr = err
	}
	if err := task.Close(); err != nil && waitErr == nil {
		waitErr = err
	}
	if waitErr != nil {
		return waitErr
	}
	if got, err := sqlCount(ctx, driver, dsn, "sink_bench"); err != nil || got != n {
		return fmt.Errorf("%s: sink_bench holds %d rows, want %d (%v)", scenario, got, n, err)
	}
	trib := Result{Scenario: scenario, Case: fmt.Sprintf("apply %d snapshot events (upsert)", n), Name: "tributary",
		Events: n, Bytes: e.topicBytes, Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: "sink start to last row visible; bytes = Kafka messages consumed"}
	e.add(trib)
	return e.bulkLoadLimit(ctx, trib, target)
}

func sqlCount(ctx context.Context, driver, dsn, table string) (int64, error) {
	db, err := openConn(ctx, driver, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	n, _, err := db.QueryInt(ctx, "SELECT count(*) FROM "+table)
	return n, err
}

// bulkLoadLimit loads the same N rows from a CSV file into a copy of the
// sink's table (same columns and primary key) with the database's bulk
// loader.
func (e *env) bulkLoadLimit(ctx context.Context, trib Result, target string) error {
	csv := filepath.Join(e.dir, target+".csv")
	defer os.Remove(csv)
	flag := "flag"
	if target == "mariadb" {
		flag = "flag::int" // LOAD DATA reads booleans as numbers
	}
	if _, err := e.psql(ctx, fmt.Sprintf(`\copy (SELECT id, k, v, name, amount, %s, created, updated, note, stamp FROM bench ORDER BY id) TO '%s' CSV`, flag, csv)); err != nil {
		return err
	}
	switch target {
	case "postgres":
		if err := e.pg.ExecContext(ctx, "sink", "CREATE TABLE copy_bench (LIKE sink_bench INCLUDING ALL)"); err != nil {
			return err
		}
		secs, err := e.psqlDB(ctx, "sink", fmt.Sprintf(`\copy copy_bench (%s) FROM '%s' CSV`, pgColumns, csv))
		if err != nil {
			return err
		}
		e.addLimit(trib, Result{Name: limitCopyFr + ` (psql \copy copy_bench FROM FILE CSV)`, Events: trib.Events, Seconds: secs})
	case "mariadb":
		if err := e.my.ExecContext(ctx, "sink", "CREATE TABLE copy_bench LIKE sink_bench"); err != nil {
			return err
		}
		bin, err := exec.LookPath("mariadb")
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--local-infile=1", "-h", e.my.Host, "-P", strconv.Itoa(e.my.Port), "-uroot", "sink",
			"-e", fmt.Sprintf(`LOAD DATA LOCAL INFILE '%s' INTO TABLE copy_bench FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' (%s)`, csv, pgColumns))
		start := time.Now()
		if err := runTool(cmd); err != nil {
			return err
		}
		secs := time.Since(start).Seconds()
		if got, err := sqlCount(ctx, "mysql", e.my.DSN("sink"), "copy_bench"); err != nil || got != trib.Events {
			return fmt.Errorf("LOAD DATA loaded %d rows (want %d): %v", got, trib.Events, err)
		}
		e.addLimit(trib, Result{Name: limitLoadDat + " (mariadb client, same rows as CSV)", Events: trib.Events, Seconds: secs})
	}
	return nil
}
