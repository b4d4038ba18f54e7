package mysql

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/redislog"
)

// The SchemaHistory implementations schema.history.internal accepts.
// Debezium Server keeps the history of a Kafka-less deployment in a file or
// in Redis; both hold the records the Kafka topic holds (the same JSON
// documents), so a history moves between them by copying the records.
const (
	kafkaHistoryClass = "io.debezium.storage.kafka.history.KafkaSchemaHistory"
	fileHistoryClass  = "io.debezium.storage.file.history.FileSchemaHistory"
	redisHistoryClass = "io.debezium.storage.redis.history.RedisSchemaHistory"
	// Debezium Server's deprecated name of the same class.
	redisHistoryClassOld = "io.debezium.server.redis.RedisSchemaHistory"
)

// historyClassProblem refuses the schema.history.internal classes
// Tributary does not implement, with the reason.
func historyClassProblem(v string) error {
	switch strings.TrimSpace(v) {
	case kafkaHistoryClass, fileHistoryClass, redisHistoryClass, redisHistoryClassOld:
		return nil
	case "io.debezium.relational.history.MemorySchemaHistory":
		return errors.New("MemorySchemaHistory loses the history when the task stops, so a restarted connector cannot rebuild its tables and stops; " +
			"use " + fileHistoryClass + " (schema.history.internal.file.filename) or " + redisHistoryClass + " to run without Kafka")
	}
	return fmt.Errorf("not supported: the schema history is kept in a Kafka topic (%s), a file (%s) or Redis (%s)", kafkaHistoryClass, fileHistoryClass, redisHistoryClass)
}

// defineHistoryStores defines the properties of the file and Redis
// schema histories (FileSchemaHistory, RedisSchemaHistoryConfig).
func defineHistoryStores(d *config.Def) {
	d.Define(config.Key{Name: "schema.history.internal.file.filename", Importance: config.High,
		Doc: "with schema.history.internal=" + fileHistoryClass + ": the file holding the schema history, one JSON record per line as Debezium's FileSchemaHistory writes it (the records of the Kafka history topic); created with its directories when missing"})
	const p = "schema.history.internal.redis."
	only := "with schema.history.internal=" + redisHistoryClass + ": "
	d.Define(config.Key{Name: p + "address", Importance: config.High, Doc: only + "host:port of the Redis server holding the schema history"})
	d.Define(config.Key{Name: p + "user", Doc: only + "ACL user (Redis 6+)"})
	d.Define(config.Key{Name: p + "password", Type: config.TypePassword, Doc: only + "password for AUTH; hidden in logs and errors"})
	d.Define(config.Key{Name: p + "key", Default: "metadata:debezium:schema_history", Doc: only + "the stream the records are appended to (XADD, one entry per record with the field schema), as Debezium's RedisSchemaHistory does"})
	d.Define(config.Key{Name: p + "db.index", Type: config.TypeInt, Default: "0", Validate: nonNegative, Doc: only + "logical database (SELECT) of the stream"})
	d.Define(config.Key{Name: p + "ssl.enabled", Type: config.TypeBoolean, Default: "false", Doc: only + "connect with TLS (the system's trusted certificates)"})
	d.Define(config.Key{Name: p + "connection.timeout.ms", Type: config.TypeInt, Default: "2000", Validate: positiveLong, Doc: only + "how long connecting may take"})
	d.Define(config.Key{Name: p + "socket.timeout.ms", Type: config.TypeInt, Default: "2000", Validate: positiveLong, Doc: only + "how long one command may wait for its answer"})
	d.Define(config.Key{Name: p + "retry.initial.delay.ms", Type: config.TypeInt, Default: "300", Validate: positiveLong, Doc: only + "first pause before a command that failed because Redis could not be reached is sent again; doubles up to retry.max.delay.ms, until the task stops (Debezium retries without end too)"})
	d.Define(config.Key{Name: p + "retry.max.delay.ms", Type: config.TypeInt, Default: "10000", Validate: positiveLong, Doc: only + "longest pause between such retries"})
	const noWait = "waiting for replicas (WAIT) is not implemented: a record counts as written once the Redis server it was sent to has it"
	d.Refuse(p+"wait.enabled", "false", noWait)
	d.Refuse(p+"wait.timeout.ms", "1000", noWait)
	d.Refuse(p+"wait.retry.enabled", "false", noWait)
	d.Refuse(p+"wait.retry.delay.ms", "1000", noWait)
}

// historyEntry is one stored record and where it is, for messages.
type historyEntry struct {
	where string // "offset 3", "line 4", "entry 1700000000000-0"
	value []byte // nil: a null record
}

// historyLog is a schema history store other than the Kafka topic (which
// goes through historyStore, the runtime's producer or its own client).
type historyLog interface {
	// ensure creates the storage when it is missing and checks that it
	// can be reached, before anything reads or writes it.
	ensure(ctx context.Context) error
	append(ctx context.Context, rec []byte) error
	// entries returns every record in the order it was written.
	entries(ctx context.Context) ([]historyEntry, error)
	close() error
	// String names the store in messages.
	String() string
}

// fileHistory is FileSchemaHistory: one JSON document per line.
type fileHistory struct {
	path string
	log  *slog.Logger
}

func (f *fileHistory) String() string { return fmt.Sprintf("schema history file %q", f.path) }

// ensure creates the file, and cuts off a last line without its newline:
// a record whose write a crash interrupted. Its offset was not committed
// (append had not returned), so the connector writes it again when it
// reads that DDL again; left in place it would make the file unreadable.
func (f *fileHistory) ensure(context.Context) error {
	if dir := filepath.Dir(f.path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("schema.history.internal.file.filename=%s: %w", f.path, err)
		}
	}
	fh, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("schema.history.internal.file.filename=%s: %w", f.path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	// Records are small next to a read of the whole file, and this runs
	// once per task start.
	data, err := io.ReadAll(fh)
	if err != nil {
		return fmt.Errorf("schema.history.internal.file.filename=%s: %w", f.path, err)
	}
	if data[len(data)-1] == '\n' {
		return nil
	}
	keep := bytes.LastIndexByte(data, '\n') + 1
	f.log.Warn("cutting off an incomplete last schema history record (a write interrupted by a crash; the connector writes it again)",
		"file", f.path, "bytes", len(data)-keep)
	if err := fh.Truncate(int64(keep)); err != nil {
		return fmt.Errorf("schema.history.internal.file.filename=%s: %w", f.path, err)
	}
	return fh.Sync()
}

// append writes the record and its newline in one write, and syncs the
// file: the offset of the DDL is committed after this returns, so the
// record must outlive a crash of the machine, not only of the process.
func (f *fileHistory) append(_ context.Context, rec []byte) error {
	if bytes.IndexByte(rec, '\n') >= 0 {
		return fmt.Errorf("%s: the record holds a newline, which would split it over two lines", f)
	}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	line := make([]byte, 0, len(rec)+1)
	line = append(append(line, rec...), '\n')
	_, err = fh.Write(line)
	if err == nil {
		err = fh.Sync()
	}
	return errors.Join(err, fh.Close())
}

func (f *fileHistory) entries(context.Context) ([]historyEntry, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []historyEntry
	r := bufio.NewReader(fh)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			// as FileSchemaHistory, empty lines are no records
			if line = bytes.TrimRight(line, "\r\n"); len(line) > 0 {
				out = append(out, historyEntry{where: "line " + strconv.Itoa(n), value: line})
			}
		}
		// an unterminated last line is a write under way (or cut by a
		// crash, which ensure removes): not a record yet
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (f *fileHistory) close() error { return nil }

// redisHistory is RedisSchemaHistory: a stream with one entry per record,
// the record in the field "schema".
type redisHistory struct {
	c                   *goredis.Client
	key                 string
	retryFirst, retryMx time.Duration
	log                 *slog.Logger
}

// redisHistoryConfig is RedisSchemaHistoryConfig: the properties
// schema.history.internal.redis.*.
type redisHistoryConfig struct {
	addr, user, password, key string
	db                        int
	ssl                       bool
	connTimeout, sockTimeout  time.Duration
	retryFirst, retryMax      time.Duration
}

func parseRedisHistory(v *config.Values) redisHistoryConfig {
	const p = "schema.history.internal.redis."
	return redisHistoryConfig{addr: v.String(p + "address"), user: v.String(p + "user"), password: v.String(p + "password"),
		key: v.String(p + "key"), db: int(v.Int(p + "db.index")), ssl: v.Bool(p + "ssl.enabled"),
		connTimeout: v.Millis(p + "connection.timeout.ms"), sockTimeout: v.Millis(p + "socket.timeout.ms"),
		retryFirst: v.Millis(p + "retry.initial.delay.ms"), retryMax: v.Millis(p + "retry.max.delay.ms")}
}

func openRedisHistory(cfg redisHistoryConfig, log *slog.Logger) *redisHistory {
	redislog.Init()
	opts := &goredis.Options{
		Addr: cfg.addr, Username: cfg.user, Password: cfg.password, DB: cfg.db,
		DialTimeout: cfg.connTimeout, ReadTimeout: cfg.sockTimeout, WriteTimeout: cfg.sockTimeout,
		// one connection: records are written one at a time, in order;
		// retries are retry's, with Debezium's delays
		PoolSize: 1, MaxRetries: -1,
	}
	if cfg.ssl {
		host, _, _ := strings.Cut(cfg.addr, ":")
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return &redisHistory{c: goredis.NewClient(opts), key: cfg.key, retryFirst: cfg.retryFirst, retryMx: cfg.retryMax, log: log}
}

func (r *redisHistory) String() string {
	return fmt.Sprintf("schema history Redis stream %q at %s", r.key, r.c.Options().Addr)
}

// retry runs f until it succeeds, Redis answers with an error (wrong
// password, a key of another type: retrying cannot help) or ctx ends.
// While Redis cannot be reached it waits, as RedisSchemaHistory does.
func (r *redisHistory) retry(ctx context.Context, what string, f func() error) error {
	delay := r.retryFirst
	for {
		err := f()
		var reply goredis.Error
		if err == nil || errors.As(err, &reply) || ctx.Err() != nil {
			return err
		}
		r.log.Warn("schema history: Redis cannot be reached; retrying", "operation", what, "key", r.key, "backoff", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return err
		}
		delay = min(2*delay, r.retryMx)
	}
}

func (r *redisHistory) ensure(ctx context.Context) error {
	var typ string
	err := r.retry(ctx, "connect", func() (err error) {
		typ, err = r.c.Type(ctx, r.key).Result()
		return err
	})
	if err != nil {
		return fmt.Errorf("%s (schema.history.internal.redis.address, .user, .password): %w", r, err)
	}
	if typ != "none" && typ != "stream" {
		return fmt.Errorf("%s: the key holds a %s, not a stream; set schema.history.internal.redis.key to another key", r, typ)
	}
	return nil
}

func (r *redisHistory) append(ctx context.Context, rec []byte) error {
	return r.retry(ctx, "XADD", func() error {
		return r.c.XAdd(ctx, &goredis.XAddArgs{Stream: r.key, Values: []any{"schema", rec}}).Err()
	})
}

func (r *redisHistory) entries(ctx context.Context) ([]historyEntry, error) {
	var msgs []goredis.XMessage
	err := r.retry(ctx, "XRANGE", func() (err error) {
		msgs, err = r.c.XRange(ctx, r.key, "-", "+").Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]historyEntry, 0, len(msgs))
	for _, m := range msgs {
		s, ok := m.Values["schema"].(string)
		if !ok {
			return nil, fmt.Errorf("%s: entry %s has no field schema", r, m.ID)
		}
		out = append(out, historyEntry{where: "entry " + m.ID, value: []byte(s)})
	}
	return out, nil
}

func (r *redisHistory) close() error { return r.c.Close() }

// parseHistoryStore reads schema.history.internal and checks that the
// chosen store has what it needs, and that no property of another store
// is set (it would have no effect).
func (s *settings) parseHistoryStore(v *config.Values) error {
	s.historyClass = strings.TrimSpace(v.String("schema.history.internal"))
	if s.historyClass == redisHistoryClassOld {
		s.historyClass = redisHistoryClass
	}
	required := map[string]string{
		kafkaHistoryClass: "schema.history.internal.kafka.topic",
		fileHistoryClass:  "schema.history.internal.file.filename",
		redisHistoryClass: "schema.history.internal.redis.address",
	}
	var errs config.Errors
	if name := required[s.historyClass]; v.String(name) == "" {
		errs = append(errs, config.FieldError{Name: name, Message: fmt.Sprintf("missing required property (where %s keeps the database schema history)", s.historyClass)})
	}
	for k, val := range v.Raw() {
		name, ok := strings.CutPrefix(k, "schema.history.internal.")
		if !ok || strings.TrimSpace(val) == "" {
			continue
		}
		var store string
		switch {
		case strings.HasPrefix(name, "kafka."), strings.HasPrefix(name, "producer."), strings.HasPrefix(name, "consumer."):
			store = kafkaHistoryClass
		case strings.HasPrefix(name, "file."):
			store = fileHistoryClass
		case strings.HasPrefix(name, "redis."):
			store = redisHistoryClass
		}
		if store != "" && store != s.historyClass {
			errs = append(errs, config.FieldError{Name: k, Message: fmt.Sprintf("not used: it configures %s, but schema.history.internal is %s", store, s.historyClass)})
		}
	}
	s.historyFile = v.String("schema.history.internal.file.filename")
	if s.historyClass == redisHistoryClass {
		s.historyRedis = parseRedisHistory(v)
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Name < errs[j].Name })
		return errs
	}
	return nil
}
