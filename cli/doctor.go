package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/doctor"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/schema/registry"
)

func newDoctorCmd(g *globalFlags) *cobra.Command {
	var files []string
	opts := doctor.Options{}
	cmd := &cobra.Command{
		Use:   "doctor -c CONFIG",
		Short: "Preflight: check databases, Kafka and the schema registry for each connector, with the fix for each problem",
		Long: `doctor connects to every database, Kafka cluster and schema registry the configuration names
and prints a table of checks (PASS, WARN, FAIL) with the fix for each warning and failure. It
changes nothing. Exit status 1 when any check fails.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := g.logger(); err != nil {
				return err
			}
			file, err := loadFiles(files)
			if err != nil {
				return err
			}
			checks := g.runDoctor(cmd.Context(), file, opts)
			if err := doctor.Render(cmd.OutOrStdout(), checks); err != nil {
				return err
			}
			if doctor.Failed(checks) {
				return &exitError{code: 1, err: fmt.Errorf("doctor: some checks failed")}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "config", "c", nil, "configuration file (YAML or JSON)")
	cmd.Flags().DurationVar(&opts.Downtime, "downtime", 24*time.Hour, "longest expected connector downtime; binlog and WAL retention must cover it")
	cmd.Flags().DurationVar(&opts.WALSample, "wal-sample", 10*time.Second, "how long to watch a PostgreSQL server's WAL position to measure its write rate (besides pg_stat_wal's average); 0 skips it")
	return cmd
}

// runDoctor runs every check the configuration calls for.
func (g *globalFlags) runDoctor(ctx context.Context, file *config.File, opts doctor.Options) []doctor.Check {
	var out []doctor.Check
	wv, err := runtime.WorkerDef().Parse(file.Worker)
	if err != nil {
		return append(out, doctor.Check{Scope: "worker", Name: "properties", Status: doctor.Fail, Detail: err.Error(), Fix: "correct the worker property named in the error"})
	}
	var parsed []*runtime.Connector
	for _, c := range file.Connectors {
		pc, err := runtime.ParseConnector(g.plugins(), c)
		if err != nil {
			out = append(out, doctor.Check{Scope: c.Name, Name: "properties", Status: doctor.Fail, Detail: err.Error(), Fix: "correct the property named in the error (tributary validate --offline lists them all)"})
			continue
		}
		parsed = append(parsed, pc)
		switch pc.Plugin.Class {
		case "io.debezium.connector.postgresql.PostgresConnector":
			out = append(out, postgres.Doctor(ctx, c.Name, pc.Values, opts)...)
		case "io.debezium.connector.mysql.MySqlConnector", "io.debezium.connector.mariadb.MariaDbConnector":
			out = append(out, mysql.Doctor(ctx, c.Name, pc.Plugin.Class, pc.Values, opts)...)
		default:
			// Connectors without their own checks get the connectivity
			// check validate runs.
			chk := doctor.Check{Scope: c.Name, Name: "connectivity", Status: doctor.Pass, Detail: "properties valid"}
			if pc.Plugin.Validate != nil {
				if err := pc.Plugin.Validate(ctx, pc.Values); err != nil {
					chk.Status, chk.Detail, chk.Fix = doctor.Fail, pc.Values.Scrubber().Error(err).Error(), "correct the connection properties"
				} else {
					chk.Detail = "properties valid, database reachable"
				}
			}
			out = append(out, chk)
		}
	}
	out = append(out, doctorKafka(ctx, file.Worker, wv, parsed)...)
	out = append(out, doctorRegistries(ctx, file.Worker, parsed)...)
	return out
}

// internalTopic is a topic Tributary or Debezium keeps state in, and the
// settings it needs.
type internalTopic struct {
	name, property string
	compact        bool // connect-offsets/configs/status: compacted
}

// doctorKafka checks that the brokers answer and that the internal topics
// that already exist have the cleanup policy their contents need.
func doctorKafka(ctx context.Context, worker map[string]string, wv *config.Values, cs []*runtime.Connector) []doctor.Check {
	brokers := wv.List("bootstrap.servers")
	if len(brokers) == 0 {
		return []doctor.Check{{Scope: "kafka", Name: "reachability", Status: doctor.Warn,
			Detail: "no bootstrap.servers: run would start the embedded development broker, which is not for production",
			Fix:    "set bootstrap.servers in the worker properties"}}
	}
	sc, err := runtime.WorkerSaramaConfig(wv, brokers)
	if err != nil {
		return []doctor.Check{{Scope: "kafka", Name: "client properties", Status: doctor.Fail, Detail: err.Error(), Fix: "correct the worker's client property named in the error"}}
	}
	// Fail fast: doctor reports, it does not wait out a dead cluster.
	sc.Net.DialTimeout = 5 * time.Second
	sc.Metadata.Retry.Max = 1
	sc.Admin.Timeout = 10 * time.Second
	type result struct {
		admin sarama.ClusterAdmin
		err   error
	}
	done := make(chan result, 1)
	go func() { a, err := sarama.NewClusterAdmin(brokers, sc); done <- result{a, err} }()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if res.err != nil {
		return []doctor.Check{{Scope: "kafka", Name: "reachability", Status: doctor.Fail,
			Detail: fmt.Sprintf("cannot reach %s: %v", strings.Join(brokers, ","), res.err),
			Fix:    "check bootstrap.servers, the network path and the worker's security.protocol/sasl.*/ssl.* settings"}}
	}
	admin := res.admin
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return []doctor.Check{{Scope: "kafka", Name: "reachability", Status: doctor.Fail, Detail: "list topics: " + err.Error(),
			Fix: "grant the worker's principal DESCRIBE on the cluster and topics"}}
	}
	out := []doctor.Check{{Scope: "kafka", Name: "reachability", Status: doctor.Pass, Detail: fmt.Sprintf("%s answers, %d topics", strings.Join(brokers, ","), len(topics))}}

	var want []internalTopic
	for _, p := range []string{"offset.storage.topic", "config.storage.topic", "status.storage.topic"} {
		if t := worker[p]; t != "" {
			want = append(want, internalTopic{name: t, property: p, compact: true})
		}
	}
	for _, c := range cs {
		if t := c.Values.Raw()["schema.history.internal.kafka.topic"]; t != "" {
			want = append(want, internalTopic{name: t, property: c.Name + ": schema.history.internal.kafka.topic"})
		}
	}
	for _, it := range want {
		out = append(out, checkInternalTopic(admin, topics, it))
	}
	return out
}

func checkInternalTopic(admin sarama.ClusterAdmin, topics map[string]sarama.TopicDetail, it internalTopic) doctor.Check {
	chk := doctor.Check{Scope: "kafka", Name: "topic " + it.name}
	if _, ok := topics[it.name]; !ok {
		chk.Status, chk.Detail = doctor.Pass, fmt.Sprintf("does not exist yet (%s); created with the right settings at start", it.property)
		return chk
	}
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: it.name}}, sarama.DescribeConfigsOptions{})
	if err == nil && len(results) == 1 && results[0].ErrorCode != sarama.ErrNoError {
		err = fmt.Errorf("%s: %s", results[0].ErrorCode, results[0].ErrorMsg)
	}
	if err != nil || len(results) != 1 {
		chk.Status, chk.Detail, chk.Fix = doctor.Fail, fmt.Sprintf("describe configs: %v", err), "grant the worker's principal DESCRIBE_CONFIGS on the topic"
		return chk
	}
	cfg := map[string]string{}
	for _, e := range results[0].Configs {
		cfg[e.Name] = e.Value
	}
	policy := cfg["cleanup.policy"]
	if policy == "" {
		policy = "delete"
	}
	parts := len(topics[it.name].ReplicaAssignment)
	if parts == 0 {
		parts = int(topics[it.name].NumPartitions)
	}
	if it.compact {
		if policy != "compact" {
			chk.Status = doctor.Fail
			chk.Detail = fmt.Sprintf("cleanup.policy=%s (%s): Kafka Connect's internal topics must be compacted, or old offsets and configs are deleted", policy, it.property)
			chk.Fix = fmt.Sprintf("kafka-configs --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact", it.name)
			return chk
		}
		chk.Status, chk.Detail = doctor.Pass, "cleanup.policy=compact ("+it.property+")"
		return chk
	}
	// Debezium's schema history must keep every DDL forever, in order.
	var problems []string
	if policy != "delete" {
		problems = append(problems, "cleanup.policy="+policy+" (compaction drops DDL: needs delete with infinite retention)")
	}
	if r := cfg["retention.ms"]; r != "" && r != "-1" {
		problems = append(problems, "retention.ms="+r+" (DDL older than that is lost)")
	}
	if parts > 1 {
		problems = append(problems, fmt.Sprintf("%d partitions (the history must be totally ordered)", parts))
	}
	if len(problems) > 0 {
		chk.Status = doctor.Fail
		chk.Detail = it.property + ": " + strings.Join(problems, "; ")
		chk.Fix = fmt.Sprintf("kafka-configs --alter --entity-type topics --entity-name %s --add-config cleanup.policy=delete,retention.ms=-1,retention.bytes=-1 (a multi-partition history topic must be recreated with one partition)", it.name)
		return chk
	}
	chk.Status, chk.Detail = doctor.Pass, it.property+": cleanup.policy=delete, infinite retention, 1 partition"
	return chk
}

// doctorRegistries checks every schema registry a converter names: that it
// answers, and its compatibility level (NONE lets a schema change break
// consumers).
func doctorRegistries(ctx context.Context, worker map[string]string, cs []*runtime.Connector) []doctor.Check {
	type use struct {
		props    map[string]string
		prefixes []string
	}
	byURL := map[string]*use{}
	for _, c := range cs {
		for _, side := range []string{"key.converter", "value.converter"} {
			class, props := c.Values.String(side), c.Values.WithPrefix(side+".")
			if class == "" {
				class, props = worker[side], prefixedProps(worker, side+".")
			}
			if !strings.Contains(class, "AvroConverter") || props["schema.registry.url"] == "" {
				continue
			}
			u := props["schema.registry.url"]
			if byURL[u] == nil {
				byURL[u] = &use{props: props}
			}
			if p := c.Values.String("topic.prefix"); p != "" {
				byURL[u].prefixes = append(byURL[u].prefixes, p+".")
			}
		}
	}
	urls := make([]string, 0, len(byURL))
	for u := range byURL {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	var out []doctor.Check
	for _, u := range urls {
		out = append(out, checkRegistry(ctx, u, byURL[u].props, byURL[u].prefixes)...)
	}
	return out
}

func checkRegistry(ctx context.Context, u string, props map[string]string, prefixes []string) []doctor.Check {
	fail := func(detail, fix string) []doctor.Check {
		return []doctor.Check{{Scope: "registry", Name: "reachability", Status: doctor.Fail, Detail: detail, Fix: fix}}
	}
	cfg, err := registry.ConfigFromProperties(props)
	if err != nil {
		return fail(err.Error(), "set schema.registry.url")
	}
	// A diagnosis answers promptly: one attempt per URL, 10 s each.
	cfg.ConnectTimeout, cfg.ReadTimeout, cfg.MaxRetries = 10*time.Second, 10*time.Second, 0
	cl, err := registry.NewClient(cfg)
	if err != nil {
		return fail(err.Error(), "correct the converter's schema.registry.* properties")
	}
	global, err := cl.Compatibility(ctx, "")
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", u, err), "check schema.registry.url and basic.auth.* of the converter")
	}
	out := []doctor.Check{{Scope: "registry", Name: "reachability", Status: doctor.Pass, Detail: u + " answers"}}
	out = append(out, levelCheck(u, "global compatibility", global, "--data '{\"compatibility\":\"BACKWARD\"}' "+u+"/config"))
	subjects, err := cl.Subjects(ctx, false)
	if err != nil {
		return append(out, doctor.Check{Scope: "registry", Name: "subjects", Status: doctor.Fail, Detail: err.Error()})
	}
	for _, s := range subjects {
		matches := false
		for _, p := range prefixes {
			matches = matches || strings.HasPrefix(s, p)
		}
		if !matches {
			continue
		}
		lvl, err := cl.Compatibility(ctx, s)
		if err != nil {
			out = append(out, doctor.Check{Scope: "registry", Name: "subject " + s, Status: doctor.Fail, Detail: err.Error()})
			continue
		}
		if lvl != global {
			out = append(out, levelCheck(u, "subject "+s, lvl, "--data '{\"compatibility\":\"BACKWARD\"}' "+u+"/config/"+s))
		}
	}
	return out
}

func levelCheck(u, name, level, curl string) doctor.Check {
	chk := doctor.Check{Scope: "registry", Name: name, Status: doctor.Pass, Detail: "compatibility " + level}
	if strings.EqualFold(level, "NONE") {
		chk.Status = doctor.Warn
		chk.Detail = "compatibility NONE: any schema change is registered, even one that breaks consumers"
		chk.Fix = "curl -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' " + curl
	}
	return chk
}

func prefixedProps(m map[string]string, p string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, p); ok {
			out[rest] = v
		}
	}
	return out
}
