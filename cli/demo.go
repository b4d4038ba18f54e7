package cli

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/testdb"
)

//go:embed demo/postgres.sql
var demoPostgresSQL string

//go:embed demo/mariadb.sql
var demoMariaDBSQL string

// demoChange is one statement the demo runs after the snapshot, with the
// events it must produce.
type demoChange struct {
	db   string // "postgres" or "mariadb"
	sql  string
	want int // change events (tombstones not counted)
	// outbox is the events the outbox connector routes from it.
	outbox int
}

// demoOutboxSQL is the orders service placing an order: the order row and
// its outbox event, in one transaction.
const demoOutboxSQL = `BEGIN; ` +
	`INSERT INTO inventory.orders (order_date, purchaser, quantity, product_id) VALUES ('2024-05-01', 1003, 2, 103); ` +
	`INSERT INTO inventory.outbox VALUES (gen_random_uuid(), 'order', currval('inventory.orders_id_seq')::text, 'OrderCreated', ` +
	`jsonb_build_object('id', currval('inventory.orders_id_seq'), 'purchaser', 1003, 'product_id', 103, 'quantity', 2)); COMMIT`

var demoChanges = []demoChange{
	{"postgres", "INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Sarah', 'Connor', 'sarah@sky.net')", 1, 0},
	{"postgres", "UPDATE inventory.customers SET email = 'sally@acme.com' WHERE id = 1001", 1, 0},
	{"postgres", "UPDATE inventory.products SET price = price * 1.10 WHERE id = 101", 1, 0},
	{"postgres", "DELETE FROM inventory.orders WHERE id = 10002", 1, 0},
	// The inventory connector sees both rows (c and c); the outbox
	// connector turns the outbox row into one event on outbox.event.order.
	{"postgres", demoOutboxSQL, 2, 1},
	{"mariadb", "INSERT INTO inventory.customers VALUES (default, 'John', 'Doe', 'john@doe.org')", 1, 0},
	{"mariadb", "UPDATE inventory.products SET weight = 3.5 WHERE id = 101", 1, 0},
	{"mariadb", "DELETE FROM inventory.customers WHERE id = 1003", 1, 0},
}

func newDemoCmd(g *globalFlags) *cobra.Command {
	var full, keep, webhook bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start throwaway PostgreSQL and MariaDB, capture changes on the embedded broker and print the events",
		Long: `The demo starts private PostgreSQL 15 and MariaDB 10.11 servers from the installed binaries
(apt-get install postgresql-15 mariadb-server), loads a small copy of Debezium's inventory
database into each, runs the PostgreSQL and MariaDB connectors against the embedded Kafka
broker, makes a few changes and prints every event the connectors write: first the
snapshot (op r), then the changes (c, u, d and tombstones). One change is the outbox
pattern: an order and its outbox row written in one transaction, which an outbox
connector with Debezium's EventRouter publishes on outbox.event.order.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			if webhook {
				return g.runWebhookDemo(cmd.Context(), log, cmd.OutOrStdout(), timeout)
			}
			return g.runDemo(cmd.Context(), log, cmd.OutOrStdout(), full, keep, timeout)
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "print whole Kafka messages (schema and payload) instead of a summary")
	cmd.Flags().BoolVar(&keep, "keep-running", false, "keep capturing after the scripted changes until interrupted")
	cmd.Flags().BoolVar(&webhook, "webhook", false, "instead: a Kafka-less pipeline from PostgreSQL to a webhook receiver that prints each event")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up if the expected events have not arrived by then")
	return cmd
}

func (g *globalFlags) runDemo(ctx context.Context, log *slog.Logger, out io.Writer, full, keep bool, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Fprintln(out, "==> starting a throwaway PostgreSQL 15 and MariaDB 10.11")
	// The servers start side by side: their start-up is most of the
	// demo's time.
	type startedMariaDB struct {
		my  *testdb.MariaDB
		err error
	}
	myc := make(chan startedMariaDB, 1)
	go func() {
		my, err := testdb.NewMariaDB(ctx, "", log)
		myc <- startedMariaDB{my, err}
	}()
	pg, pgErr := testdb.NewPostgres(ctx, "", log)
	if pgErr == nil {
		defer pg.Close()
	}
	ms := <-myc
	if ms.err == nil {
		defer ms.my.Close()
	}
	if pgErr != nil {
		return fmt.Errorf("demo: %w", pgErr)
	}
	if ms.err != nil {
		return fmt.Errorf("demo: %w", ms.err)
	}
	my := ms.my
	if err := pg.CreateDatabaseContext(ctx, "inventory"); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := pg.ExecContext(ctx, "inventory", demoPostgresSQL); err != nil {
		return fmt.Errorf("demo: loading PostgreSQL inventory: %w", err)
	}
	if err := my.ExecContext(ctx, "mysql", demoMariaDBSQL); err != nil {
		return fmt.Errorf("demo: loading MariaDB inventory: %w", err)
	}
	fmt.Fprintf(out, "    PostgreSQL on %s:%d, MariaDB on %s:%d, inventory databases loaded\n", pg.Host, pg.Port, my.Host, my.Port)

	dir, err := os.MkdirTemp("", "tributary-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := &config.File{
		Worker: map[string]string{"offset.storage.file.filename": filepath.Join(dir, "offsets.json"), "offset.flush.interval.ms": "200"},
		Connectors: []config.Connector{
			{Name: "inventory-connector", Config: map[string]string{
				"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
				"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port),
				"database.user": "postgres", "database.password": "", "database.dbname": "inventory",
				"topic.prefix": "dbserver1", "table.include.list": "inventory\\..*", "plugin.name": "pgoutput",
			}},
			// The outbox pattern: only the outbox table, its rows routed
			// by the EventRouter to outbox.event.<aggregatetype>, keyed
			// by aggregateid, the JSON payload expanded.
			{Name: "outbox-connector", Config: map[string]string{
				"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
				"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port),
				"database.user": "postgres", "database.password": "", "database.dbname": "inventory",
				"topic.prefix": "outbox1", "table.include.list": "inventory.outbox", "plugin.name": "pgoutput",
				"slot.name": "outbox", "publication.name": "outbox_publication", "publication.autocreate.mode": "filtered",
				"tombstones.on.delete":                        "false",
				"transforms":                                  "outbox",
				"transforms.outbox.type":                      "io.debezium.transforms.outbox.EventRouter",
				"transforms.outbox.table.expand.json.payload": "true",
				"key.converter":                               "org.apache.kafka.connect.storage.StringConverter",
				"value.converter":                             "org.apache.kafka.connect.json.JsonConverter",
				"value.converter.schemas.enable":              "false",
			}},
			{Name: "mariadb-inventory", Config: map[string]string{
				"connector.class":   "io.debezium.connector.mariadb.MariaDbConnector",
				"database.hostname": my.Host, "database.port": fmt.Sprint(my.Port),
				"database.user": "root", "database.password": "", "database.server.id": "5400",
				"topic.prefix": "mariadb1", "database.include.list": "inventory",
				"schema.history.internal.kafka.topic": "schemahistory.mariadb1",
			}},
		},
	}
	printer := &eventPrinter{out: out, full: full, prefixes: []string{"dbserver1.", "mariadb1.", outboxTopicPrefix}}
	env := g.runEnv(log)
	started := make(chan []string, 1)
	env.onBrokers = func(brokers []string) { started <- brokers }
	runErr := make(chan error, 1)
	go func() { runErr <- runConnectors(ctx, env, file) }()

	var brokers []string
	select {
	case brokers = <-started:
	case err := <-runErr:
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "==> connectors running against the embedded Kafka broker at %s\n", strings.Join(brokers, ","))
	go printer.run(ctx, brokers, log)

	deadline := time.After(timeout)
	wait := func(what string, cond func() bool) error {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for !cond() {
			select {
			case err := <-runErr:
				if err == nil {
					err = errors.New("connectors stopped")
				}
				return fmt.Errorf("demo: while waiting for %s: %w", what, err)
			case <-deadline:
				return fmt.Errorf("demo: timed out waiting for %s (saw %s)", what, printer.summary())
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}
	// 4+3+2 PostgreSQL rows and 3+2 MariaDB rows.
	if err := wait("the snapshot", func() bool { return printer.count("r") >= 14 }); err != nil {
		return err
	}
	fmt.Fprintln(out, "==> snapshot complete; making changes")
	want := map[string]int{}
	for _, c := range demoChanges {
		fmt.Fprintf(out, "    %-8s %s\n", c.db+":", c.sql)
		if c.db == "postgres" {
			err = pg.ExecContext(ctx, "inventory", c.sql)
		} else {
			err = my.ExecContext(ctx, "inventory", c.sql)
		}
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		want[c.db] += c.want
		want["outbox"] += c.outbox
	}
	if err := wait("the change events", func() bool {
		return printer.count("c")+printer.count("u")+printer.count("d") >= want["postgres"]+want["mariadb"] &&
			printer.count(opOutbox) >= want["outbox"]
	}); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond) // let trailing tombstones print
	fmt.Fprintf(out, "==> done: %s\n", printer.summary())
	if keep {
		fmt.Fprintln(out, "==> still capturing; press Ctrl-C to stop")
		<-ctx.Done()
	}
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// eventPrinter follows every topic with one of the prefixes and prints
// each event as it arrives.
type eventPrinter struct {
	out      io.Writer
	full     bool
	prefixes []string

	mu   sync.Mutex
	ops  map[string]int
	seen map[string]bool
}

func (p *eventPrinter) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops[op]
}

func (p *eventPrinter) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	for _, op := range []string{"r", "c", "u", "d", "t", "m", "tombstone", opOutbox, "other"} {
		if n := p.ops[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", op, n))
		}
	}
	return "events " + strings.Join(parts, " ")
}

func (p *eventPrinter) run(ctx context.Context, brokers []string, log *slog.Logger) {
	p.ops, p.seen = map[string]int{}, map[string]bool{}
	sc := sarama.NewConfig()
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		log.Error("demo consumer", "error", err)
		return
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		log.Error("demo consumer", "error", err)
		return
	}
	defer consumer.Close()
	msgs := make(chan *sarama.ConsumerMessage, 256)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			p.print(m)
		case <-tick.C:
			if err := client.RefreshMetadata(); err != nil {
				continue
			}
			topics, _ := client.Topics()
			sort.Strings(topics)
			for _, t := range topics {
				if p.seen[t] || !p.wanted(t) {
					continue
				}
				parts, err := client.Partitions(t)
				if err != nil {
					continue
				}
				p.seen[t] = true
				for _, part := range parts {
					pc, err := consumer.ConsumePartition(t, part, sarama.OffsetOldest)
					if err != nil {
						log.Error("demo consumer", "topic", t, "error", err)
						continue
					}
					go func() {
						for m := range pc.Messages() {
							select {
							case msgs <- m:
							case <-ctx.Done():
								return
							}
						}
					}()
					go func() { <-ctx.Done(); pc.AsyncClose() }()
				}
			}
		}
	}
}

func (p *eventPrinter) wanted(topic string) bool {
	for _, pre := range p.prefixes {
		if strings.HasPrefix(topic, pre) {
			return true
		}
	}
	return false
}

// outboxTopicPrefix is where the EventRouter routes outbox events (its
// default route.topic.replacement), and opOutbox what the printer counts
// them as.
const (
	outboxTopicPrefix = "outbox.event."
	opOutbox          = "outbox"
)

func (p *eventPrinter) print(m *sarama.ConsumerMessage) {
	if strings.HasPrefix(m.Topic, outboxTopicPrefix) {
		p.printOutbox(m)
		return
	}
	op := "other"
	var payload map[string]any
	if m.Value == nil {
		op = "tombstone"
	} else {
		var env struct {
			Payload map[string]any `json:"payload"`
		}
		if json.Unmarshal(m.Value, &env) == nil && env.Payload != nil {
			payload = env.Payload
			if o, ok := payload["op"].(string); ok {
				op = o
			}
		}
	}
	p.mu.Lock()
	p.ops[op]++
	p.mu.Unlock()
	if p.full {
		fmt.Fprintf(p.out, "%s key=%s\n%s value=%s\n", m.Topic, m.Key, m.Topic, m.Value)
		return
	}
	key := "null"
	var k struct {
		Payload json.RawMessage `json:"payload"`
	}
	if m.Key != nil && json.Unmarshal(m.Key, &k) == nil {
		key = string(k.Payload)
	}
	if payload == nil {
		fmt.Fprintf(p.out, "%-34s %-9s key=%s\n", m.Topic, op, key)
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-34s op=%-2s key=%s", m.Topic, op, key)
	for _, f := range []string{"before", "after"} {
		if v, ok := payload[f]; ok && v != nil {
			j, _ := json.Marshal(v)
			fmt.Fprintf(&b, " %s=%s", f, j)
		}
	}
	if src, ok := payload["source"].(map[string]any); ok {
		for _, f := range []string{"snapshot", "lsn", "file", "pos", "gtid"} {
			if v, ok := src[f]; ok && v != nil && v != "false" {
				fmt.Fprintf(&b, " source.%s=%v", f, jsonScalar(v))
			}
		}
	}
	fmt.Fprintln(p.out, b.String())
}

func jsonScalar(v any) string {
	j, _ := json.Marshal(v)
	return string(j)
}

// printOutbox prints a routed outbox event: a domain event rather than a
// change event, keyed by its aggregate id, with the event id in the "id"
// header and the row's payload as the value.
func (p *eventPrinter) printOutbox(m *sarama.ConsumerMessage) {
	p.mu.Lock()
	p.ops[opOutbox]++
	p.mu.Unlock()
	var id string
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == "id" {
			id = string(h.Value)
		}
	}
	if p.full {
		fmt.Fprintf(p.out, "%s key=%s headers=id:%s\n%s value=%s\n", m.Topic, m.Key, id, m.Topic, m.Value)
		return
	}
	fmt.Fprintf(p.out, "%-34s outbox    key=%s id=%s payload=%s\n", m.Topic, m.Key, id, m.Value)
}
