package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/sinkrunner"
)

// SinkPGTasks applies the PostgreSQL snapshot events from a 4-partition
// topic with tasks.max 1, 2 and 4.
const SinkPGTasks = "sink-pg-tasks"

const (
	sinkTasksTopic      = "pgsnap4.public.bench"
	sinkTasksPartitions = 4
)

// sinkTaskCounts are the tasks.max of the cases, in running order.
var sinkTaskCounts = []int{1, 2, 4}

// ensureSinkTasksTopic fills a 4-partition topic with the same N change
// events as sink-pg's topic: the PostgreSQL connector snapshots the table
// into a topic created beforehand with 4 partitions, so the producer's
// key partitioner spreads the rows as it would in production.
func (e *env) ensureSinkTasksTopic(ctx context.Context) error {
	if e.topics[sinkTasksTopic] {
		return nil
	}
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	e.progress("   producing %d change events into %s (%d partitions)", e.cfg.Rows, sinkTasksTopic, sinkTasksPartitions)
	e.deleteTopics(sinkTasksTopic)
	if err := e.createTopic(ctx, sinkTasksTopic, sinkTasksPartitions); err != nil {
		return err
	}
	props := e.pgSourceProps("pgsnap4", "snap4_slot")
	props["snapshot.mode"] = "initial"
	props["slot.drop.on.stop"] = "true"
	_, err := e.runSnapshot(ctx, "setup", "bench-sink-tasks-setup", props, e.cfg.Rows)
	e.pgDropSlots(ctx, "snap4_slot")
	if err != nil {
		return err
	}
	e.topics[sinkTasksTopic] = true
	return nil
}

// createTopic creates topic with n partitions, waiting until its metadata
// is visible (a deletion of the same name may still be in progress).
func (e *env) createTopic(ctx context.Context, topic string, n int32) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := e.admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: n, ReplicationFactor: 1}, false)
		if err == nil || errors.Is(err, sarama.ErrTopicAlreadyExists) {
			md, merr := e.admin.DescribeTopics([]string{topic})
			if merr == nil && len(md) == 1 && len(md[0].Partitions) == int(n) {
				return nil
			}
			if err == nil && merr != nil {
				return fmt.Errorf("bench: describing topic %s: %w", topic, merr)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: creating topic %s with %d partitions: %v", topic, n, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sinkTasks runs the JDBC sink into PostgreSQL over the 4-partition topic
// once per tasks.max, each case into an empty database with its own
// consumer group, and checks the target table row for row against the
// source table.
func (e *env) sinkTasks(ctx context.Context) error {
	if err := e.ensureSinkTasksTopic(ctx); err != nil {
		return err
	}
	srcSum, err := e.pgTableDigest(ctx, pgDB, "bench")
	if err != nil {
		return err
	}
	var first Result
	for i, tasks := range sinkTaskCounts {
		r, err := e.sinkTasksCase(ctx, tasks, srcSum)
		if err != nil {
			return err
		}
		if i == 0 {
			first = r
			continue
		}
		// tasks.max=1 in the same run is this case's reference.
		e.addLimit(r, Result{Name: "tributary tasks.max=1 (same run)", Events: first.Events, Seconds: first.Seconds,
			CPUSeconds: first.CPUSeconds, Note: "ratio: this case's rate / tasks.max=1's"})
		if i == len(sinkTaskCounts)-1 {
			if err := e.bulkLoadLimit(ctx, r, "postgres"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *env) sinkTasksCase(ctx context.Context, tasks int, srcSum string) (Result, error) {
	if err := e.pg.ExecContext(ctx, "postgres", "DROP DATABASE IF EXISTS sink", "CREATE DATABASE sink"); err != nil {
		return Result{}, err
	}
	name := fmt.Sprintf("bench-%s-%d-%d", SinkPGTasks, tasks, time.Now().UnixNano())
	c, err := runtime.ParseConnector(e.cfg.Plugins, config.Connector{Name: name, Config: map[string]string{
		"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "tasks.max": strconv.Itoa(tasks),
		"topics":         sinkTasksTopic,
		"connection.url": fmt.Sprintf("jdbc:postgresql://%s:%d/sink", e.pg.Host, e.pg.Port), "connection.username": "postgres", "connection.password": "",
		"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
		"schema.evolution": "basic", "collection.name.format": "sink_bench",
	}})
	if err != nil {
		return Result{}, err
	}
	if got := c.Plugin.MaxTasks(c.Values); got != tasks {
		return Result{}, fmt.Errorf("%s: the JDBC sink asks for %d tasks with tasks.max=%d", SinkPGTasks, got, tasks)
	}
	sc, err := e.saramaConfig()
	if err != nil {
		return Result{}, err
	}
	client, err := sarama.NewClient(e.brokers, sc)
	if err != nil {
		return Result{}, err
	}
	defer client.Close()
	ends := map[int32]int64{}
	var total int64
	for p := int32(0); p < sinkTasksPartitions; p++ {
		hw, err := client.GetOffset(sinkTasksTopic, p, sarama.OffsetNewest)
		if err != nil {
			return Result{}, fmt.Errorf("%s: end offset of partition %d: %w", SinkPGTasks, p, err)
		}
		ends[p] = hw
		total += hw
	}
	if total != int64(e.cfg.Rows) {
		return Result{}, fmt.Errorf("%s: topic %s holds %d events, want %d", SinkPGTasks, sinkTasksTopic, total, e.cfg.Rows)
	}
	parts := make([]int32, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	// The runner commits a partition's offset only after the database
	// committed the rows before it, so offsets at the end of every
	// partition mean every row is durable; asking the broker (another
	// process) costs this process next to nothing, unlike count(*).
	applied := func() (bool, error) {
		resp, err := e.admin.ListConsumerGroupOffsets("connect-"+name, map[string][]int32{sinkTasksTopic: parts})
		if err != nil {
			return false, err
		}
		for p, end := range ends {
			b := resp.GetBlock(sinkTasksTopic, p)
			if b == nil || b.Offset < end {
				return false, nil
			}
		}
		return true, nil
	}

	e.progress("   tasks.max=%d", tasks)
	m := startMeter()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	runErr := make(chan error, tasks)
	var opened []connect.SinkTask
	closeAll := func() error {
		var errs []error
		for _, t := range opened {
			errs = append(errs, t.Close())
		}
		return errors.Join(errs...)
	}
	for id := 0; id < tasks; id++ {
		// Each task has its own converters, as the worker gives it.
		kc, vc, err := runtime.Converters(e.cfg.Converters, c, e.worker)
		if err != nil {
			cancel()
			wg.Wait()
			m.end()
			return Result{}, errors.Join(err, closeAll())
		}
		chain, err := e.cfg.Transforms.Build(c.Values)
		if err != nil {
			cancel()
			wg.Wait()
			m.end()
			return Result{}, errors.Join(err, closeAll())
		}
		task, err := c.Plugin.NewSinkTask(ctx, c.Values, connect.TaskContext{ConnectorName: name, Logger: e.log})
		if err != nil {
			cancel()
			wg.Wait()
			m.end()
			return Result{}, errors.Join(err, closeAll())
		}
		opened = append(opened, task)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runErr <- sinkrunner.Run(rctx, sinkrunner.Config{Brokers: e.brokers, SaramaConfig: sc, ConnectorName: name, TaskID: id, Props: c.Values,
				Task: task, TaskClass: c.Plugin.Class, KeyConverter: kc, ValueConverter: vc, Transforms: chain, Logger: e.log})
		}()
	}
	deadline := time.Now().Add(timeoutFor(e.cfg.Rows))
	var waitErr error
wait:
	for {
		ok, err := applied()
		if ok {
			break
		}
		if err != nil {
			e.log.Debug("bench: reading committed offsets", "error", err)
		}
		if time.Now().After(deadline) {
			waitErr = fmt.Errorf("%s tasks.max=%d: offsets not at the end after %s", SinkPGTasks, tasks, timeoutFor(e.cfg.Rows))
			break
		}
		select {
		case err := <-runErr:
			waitErr = fmt.Errorf("%s tasks.max=%d: a sink task stopped before the end: %v", SinkPGTasks, tasks, err)
			break wait
		case <-ctx.Done():
			waitErr = ctx.Err()
			break wait
		case <-time.After(20 * time.Millisecond):
		}
	}
	elapsed, cpu, rss := m.end()
	cancel()
	wg.Wait()
	close(runErr)
	for err := range runErr {
		if err != nil && waitErr == nil {
			waitErr = err
		}
	}
	if err := closeAll(); err != nil && waitErr == nil {
		waitErr = err
	}
	if waitErr != nil {
		return Result{}, waitErr
	}
	sum, err := e.pgTableDigest(ctx, "sink", "sink_bench")
	if err != nil {
		return Result{}, err
	}
	if sum != srcSum {
		return Result{}, fmt.Errorf("%s tasks.max=%d: sink_bench differs from the source table (digest %s, want %s)", SinkPGTasks, tasks, sum, srcSum)
	}
	r := Result{Scenario: SinkPGTasks, Case: fmt.Sprintf("apply %d snapshot events (upsert), %d partitions, tasks.max=%d", e.cfg.Rows, sinkTasksPartitions, tasks),
		Name: "tributary", Events: int64(e.cfg.Rows), Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: "sink start to every partition's offset committed; rows equal to the source table"}
	e.add(r)
	return r, nil
}

// pgTableDigest is the row count and md5 of every row's text, in id
// order, of the bench columns of table in database db.
func (e *env) pgTableDigest(ctx context.Context, db, table string) (string, error) {
	conn, err := openConn(ctx, "pgx", e.pg.DSN(db))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	pc := conn.(pgConn)
	var n int64
	var sum string
	q := fmt.Sprintf("SELECT count(*), coalesce(md5(string_agg(ROW(%s)::text, E'\\n' ORDER BY id)), '') FROM %s", pgColumns, table)
	if err := pc.c.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
		return "", fmt.Errorf("%s: digest of %s.%s: %w", SinkPGTasks, db, table, err)
	}
	return fmt.Sprintf("%d rows, md5 %s", n, sum), nil
}
