package avro

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/schema/avsc"
	"github.com/tributary-io/tributary/schema/compat"
	"github.com/tributary-io/tributary/schema/registry"
)

// ConverterClass is the class name Kafka Connect configs use.
const ConverterClass = "io.confluent.connect.avro.AvroConverter"

// Registry is what the converter needs from a schema registry;
// *registry.Client is one, and caches subject+schema → id and id → schema.
type Registry interface {
	Register(ctx context.Context, subject, schema string) (int, error)
	Lookup(ctx context.Context, subject, schema string, deleted bool) (registry.SubjectVersion, error)
	SchemaByID(ctx context.Context, id int) (string, error)
	Version(ctx context.Context, subject string, version int) (registry.SubjectVersion, error)
}

// SubjectNameStrategy picks the registry subject of a key or value.
type SubjectNameStrategy string

// The strategies of io.confluent.kafka.serializers.subject.
const (
	TopicNameStrategy       SubjectNameStrategy = "TopicNameStrategy"
	RecordNameStrategy      SubjectNameStrategy = "RecordNameStrategy"
	TopicRecordNameStrategy SubjectNameStrategy = "TopicRecordNameStrategy"
)

const strategyPackage = "io.confluent.kafka.serializers.subject."

// ParseStrategy accepts a strategy's class name or simple name.
func ParseStrategy(s string) (SubjectNameStrategy, error) {
	switch strings.TrimPrefix(strings.TrimSpace(s), strategyPackage) {
	case "", string(TopicNameStrategy):
		return TopicNameStrategy, nil
	case string(RecordNameStrategy):
		return RecordNameStrategy, nil
	case string(TopicRecordNameStrategy):
		return TopicRecordNameStrategy, nil
	}
	return "", fmt.Errorf("unsupported subject name strategy %q (supported: %sTopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy)", s, strategyPackage)
}

// Subject names the subject a schema is registered under for topic.
func (st SubjectNameStrategy) Subject(topic string, isKey bool, s *Schema) (string, error) {
	suffix := "-value"
	prop := "value.subject.name.strategy"
	if isKey {
		suffix, prop = "-key", "key.subject.name.strategy"
	}
	switch st {
	case TopicNameStrategy, "":
		return topic + suffix, nil
	case RecordNameStrategy, TopicRecordNameStrategy:
		if s == nil || s.Type != "record" {
			side := "value"
			if isKey {
				side = "key"
			}
			return "", fmt.Errorf("in configuration %s = %s%s, the message %s must only be a record schema", prop, strategyPackage, st, side)
		}
		if st == RecordNameStrategy {
			return s.FullName(), nil
		}
		return topic + "-" + s.FullName(), nil
	}
	return "", fmt.Errorf("unknown subject name strategy %q", st)
}

// Config is the AvroConverter's configuration.
type Config struct {
	Registry           registry.Config
	AutoRegister       bool // auto.register.schemas
	UseLatestVersion   bool // use.latest.version
	LatestCompatStrict bool // latest.compatibility.strict
	KeyStrategy        SubjectNameStrategy
	ValueStrategy      SubjectNameStrategy
	Data               Options
	CacheSize          int // schemas.cache.size
	// LatestCacheSize and LatestCacheTTL bound the converter's cache of
	// the latest versions use.latest.version writes with
	// (latest.cache.size, latest.cache.ttl.sec; a negative TTL: for
	// ever), as AbstractKafkaSchemaSerDe's latestVersions.
	LatestCacheSize int
	LatestCacheTTL  time.Duration
}

// inertProps are properties of Confluent's Avro serializer and
// deserializer that AvroConverter passes on but that change nothing it
// returns, each with the reason; they are accepted as booleans.
var inertProps = map[string]string{
	"specific.avro.reader":       "AbstractKafkaAvroDeserializer reads with a SpecificDatumReader, which falls back to generic records when no generated class of the record's name is on the class path; AvroData turns either into the same Connect data, and Tributary has no Java classes",
	"schema.reflection":          "AbstractKafkaAvroDeserializer reads with a ReflectDatumReader, which falls back to generic records when no Java class of the record's name is on the class path, and AvroConverter passes its own schema to the serializer, so nothing is derived by reflection",
	"avro.reflection.allow.null": "only reflection-derived schemas are affected, and AvroConverter's serializer overrides getDatumWriter without it",
	"id.compatibility.strict":    "consulted only with use.schema.id or use.schema.guid, which are refused unless unset",
}

// refusedProps are accepted only at their Confluent default: the
// behaviour another value switches on is not implemented.
var refusedProps = map[string]struct{ def, why string }{
	"avro.use.logical.type.converters": {"false", "in Confluent's AvroConverter it makes the deserializer return BigDecimal, LocalDate, Instant... which AvroData refuses (\"Invalid type for Decimal, underlying representation should be bytes\"); not implemented"},
	"propagate.schema.tags":            {"false", "schema tags (data contracts) are not implemented"},
	"rule.service.loader.enable":       {"true", "data-contract rule executors are not implemented"},
}

// ParseConfig reads the converter's properties (without the
// key.converter./value.converter. prefix), with Confluent's defaults.
func ParseConfig(props map[string]string) (Config, error) {
	return parseConfig(props, true)
}

// ParseMappingConfig reads the same properties for work that needs no
// registry connection (computing the schemas the converter would
// register), so schema.registry.url may be absent.
func ParseMappingConfig(props map[string]string) (Config, error) {
	return parseConfig(props, false)
}

func parseConfig(props map[string]string, needRegistry bool) (Config, error) {
	c := Config{
		AutoRegister:       true,
		LatestCompatStrict: true,
		KeyStrategy:        TopicNameStrategy,
		ValueStrategy:      TopicNameStrategy,
		Data:               DefaultOptions(),
		CacheSize:          1000,
		LatestCacheSize:    1000,
		LatestCacheTTL:     -1,
	}
	var errs []string
	boolean := func(k, v string, dst *bool) {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: not a boolean", k, v))
			return
		}
		*dst = b
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := props[k]
		if _, inert := inertProps[k]; inert {
			var b bool
			boolean(k, v, &b)
			continue
		}
		if r, ok := refusedProps[k]; ok {
			if !strings.EqualFold(strings.TrimSpace(v), r.def) {
				errs = append(errs, fmt.Sprintf("%s=%q is not supported by Tributary's Avro converter (only %s): %s", k, v, r.def, r.why))
			}
			continue
		}
		switch k {
		case "converter.type":
		case "latest.cache.size":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: not an integer of at least 0", k, v))
				continue
			}
			c.LatestCacheSize = n
		case "latest.cache.ttl.sec":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: not an integer", k, v))
				continue
			}
			c.LatestCacheTTL = time.Duration(n) * time.Second
			if n < 0 {
				c.LatestCacheTTL = -1
			}
		case "auto.register.schemas":
			boolean(k, v, &c.AutoRegister)
		case "use.latest.version":
			boolean(k, v, &c.UseLatestVersion)
		case "latest.compatibility.strict":
			boolean(k, v, &c.LatestCompatStrict)
		case "key.subject.name.strategy", "value.subject.name.strategy":
			st, err := ParseStrategy(v)
			if err != nil {
				errs = append(errs, k+": "+err.Error())
				continue
			}
			if k == "key.subject.name.strategy" {
				c.KeyStrategy = st
			} else {
				c.ValueStrategy = st
			}
		case "connect.meta.data":
			boolean(k, v, &c.Data.ConnectMetaData)
		case "enhanced.avro.schema.support":
			boolean(k, v, &c.Data.EnhancedSchemaSupport)
		case "scrub.invalid.names":
			boolean(k, v, &c.Data.ScrubInvalidNames)
		case "discard.type.doc.default":
			boolean(k, v, &c.Data.DiscardTypeDocDefault)
		case "allow.optional.map.keys":
			boolean(k, v, &c.Data.AllowOptionalMapKeys)
		case "ignore.default.for.nullables":
			boolean(k, v, &c.Data.IgnoreDefaultForNullables)
		case "flatten.singleton.unions":
			boolean(k, v, &c.Data.FlattenSingletonUnions)
		case "generalized.sum.type.support", "normalize.schemas", "use.latest.with.metadata", "use.schema.id":
			// Accepted only at their defaults: the behaviour they switch on
			// is not implemented, and ignoring them would silently diverge.
			if off := strings.TrimSpace(v); off != "false" && off != "" && off != "-1" {
				errs = append(errs, fmt.Sprintf("%s=%q is not supported by Tributary's Avro converter", k, v))
			}
		case "schemas.cache.size", "schemas.cache.config":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				errs = append(errs, fmt.Sprintf("%s=%q: not a positive integer", k, v))
				continue
			}
			c.CacheSize = n
		default:
			if registry.IsClientProperty(k) {
				continue
			}
			if strings.HasPrefix(k, "bearer.auth.") {
				errs = append(errs, fmt.Sprintf("%s: bearer authentication is not supported; use basic.auth.*", k))
				continue
			}
			errs = append(errs, fmt.Sprintf("unknown AvroConverter property %q", k))
		}
	}
	rc, err := registry.ConfigFromProperties(props)
	if err != nil && (needRegistry || rc.URL != "") {
		errs = append(errs, err.Error())
	}
	c.Registry = rc
	if len(errs) > 0 {
		return c, errors.New(strings.Join(errs, "; "))
	}
	return c, nil
}

// Converter is Confluent's AvroConverter: Connect data to Avro in the
// registry's wire format and back. It is safe for concurrent use.
type Converter struct {
	cfg   Config
	isKey bool
	reg   Registry

	mu      sync.RWMutex
	byPtr   map[*connect.Schema]*plan // fast path: connectors reuse schema values
	byText  map[string]*plan
	readers map[string]*reader // by topic and schema id: the Connect version depends on the subject
	// latest holds the targets of use.latest.version by subject and
	// schema text, bounded and expiring as latest.cache.size and
	// latest.cache.ttl.sec say.
	latest *registry.Cache[string, *target]
	// buffers are FromConnectBuffer's.
	buffers converter.BufferPool
}

// plan is everything needed to write values of one Connect schema.
type plan struct {
	cs   *connect.Schema
	avro *Schema
	text string

	mu      sync.RWMutex
	targets map[string]*target // by subject
	// byTopic skips naming the subject (a string built per call) for a
	// topic seen before: the plan, the converter's strategy and side fix
	// the subject a topic maps to. Not used with use.latest.version
	// without auto-registration, whose targets expire.
	byTopic map[string]*target
}

// target is the id and encoder used for one subject: normally the plan's
// own schema, with use.latest.version the subject's latest.
type target struct {
	id  int
	enc *encoder
	// size is the length of the last message written for the target,
	// which the next one's buffer is made to hold: one allocation per
	// message instead of growing from 64 bytes.
	size atomic.Int64
}

type reader struct {
	w  *Schema
	cs *connect.Schema
}

// NewConverter returns a converter using reg (for tests or a shared client).
func NewConverter(cfg Config, isKey bool, reg Registry) *Converter {
	if cfg.CacheSize < 1 {
		cfg.CacheSize = 1000
	}
	return &Converter{cfg: cfg, isKey: isKey, reg: reg, byPtr: map[*connect.Schema]*plan{},
		byText: map[string]*plan{}, readers: map[string]*reader{},
		latest: registry.NewCache[string, *target](cfg.LatestCacheSize, cfg.LatestCacheTTL, nil)}
}

// New builds a converter from its properties, as key.converter.* or
// value.converter.* give them.
func New(props map[string]string, isKey bool) (*Converter, error) {
	cfg, err := ParseConfig(props)
	if err != nil {
		return nil, err
	}
	client, err := registry.NewClient(cfg.Registry)
	if err != nil {
		return nil, err
	}
	return NewConverter(cfg, isKey, client), nil
}

func (c *Converter) strategy() SubjectNameStrategy {
	if c.isKey {
		return c.cfg.KeyStrategy
	}
	return c.cfg.ValueStrategy
}

// Schema returns the Avro schema the converter writes for s.
func (c *Converter) Schema(s *connect.Schema) (*Schema, error) {
	p, err := c.plan(s)
	if err != nil {
		return nil, err
	}
	return p.avro, nil
}

func (c *Converter) plan(s *connect.Schema) (*plan, error) {
	c.mu.RLock()
	p, ok := c.byPtr[s]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	as, err := FromConnect(s, c.cfg.Data)
	if err != nil {
		return nil, err
	}
	text := as.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok = c.byText[text]; !ok || !connectEqual(p.cs, s) {
		p = &plan{cs: s, avro: as, text: text, targets: map[string]*target{}, byTopic: map[string]*target{}}
		if len(c.byText) >= c.cfg.CacheSize {
			c.byText = map[string]*plan{}
		}
		c.byText[text] = p
	}
	if len(c.byPtr) >= c.cfg.CacheSize {
		c.byPtr = map[*connect.Schema]*plan{}
	}
	c.byPtr[s] = p
	return p, nil
}

// ctx is the context of registry requests: the client bounds each attempt
// (http.connect.timeout.ms, http.read.timeout.ms) and the number of
// attempts (max.retries), as Confluent's RestService does.
func (c *Converter) ctx() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func (c *Converter) target(p *plan, subject string) (*target, error) {
	if c.cfg.UseLatestVersion && !c.cfg.AutoRegister {
		key := subject + "\x00" + p.text
		if t, ok := c.latest.Get(key); ok {
			return t, nil
		}
		t, err := c.newTarget(p, subject)
		if err != nil {
			return nil, err
		}
		c.latest.Put(key, t)
		return t, nil
	}
	p.mu.RLock()
	t, ok := p.targets[subject]
	p.mu.RUnlock()
	if ok {
		return t, nil
	}
	t, err := c.newTarget(p, subject)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.targets[subject] = t
	p.mu.Unlock()
	return t, nil
}

func (c *Converter) newTarget(p *plan, subject string) (*target, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	writer := p.avro
	var id int
	switch {
	case c.cfg.AutoRegister:
		var err error
		if id, err = c.reg.Register(ctx, subject, p.text); err != nil {
			return nil, err
		}
	case c.cfg.UseLatestVersion:
		latest, err := c.reg.Version(ctx, subject, 0)
		if err != nil {
			return nil, fmt.Errorf("retrieving latest version of Avro schema for subject %s: %w", subject, err)
		}
		if writer, err = Parse(latest.Schema); err != nil {
			return nil, fmt.Errorf("subject %s version %d: %w", subject, latest.Version, err)
		}
		if c.cfg.LatestCompatStrict {
			if err := p.checkLatest(latest); err != nil {
				return nil, fmt.Errorf("subject %s: %w. Set latest.compatibility.strict=false to disable this check", subject, err)
			}
		}
		id = latest.ID
	default:
		sv, err := c.reg.Lookup(ctx, subject, p.text, false)
		if err != nil {
			return nil, fmt.Errorf("retrieving Avro schema for subject %s: %w", subject, err)
		}
		id = sv.ID
	}
	enc, err := compileEncoder(p.cs, writer, &c.cfg.Data, "")
	if err != nil {
		return nil, fmt.Errorf("subject %s schema id %d: %w", subject, id, err)
	}
	if writer.Type == "bytes" {
		// The serializer writes a top-level bytes value raw, not
		// length-prefixed.
		enc.kind = encRawBytes
	}
	return &target{id: id, enc: enc}, nil
}

// checkLatest is lookupLatestVersion's sanity check: the latest schema
// must be able to read data written with ours.
func (p *plan) checkLatest(latest registry.SubjectVersion) error {
	ours, err := avsc.ParseOnly(p.text)
	if err != nil {
		return err
	}
	theirs, err := avsc.ParseOnly(latest.Schema)
	if err != nil {
		return err
	}
	vs, err := compat.CheckLevel(compat.Backward, theirs, []*avsc.Schema{ours})
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		msgs := make([]string, len(vs))
		for i, v := range vs {
			msgs[i] = v.Describe()
		}
		return fmt.Errorf("incompatible schema (latest version %d, id %d): %s", latest.Version, latest.ID, strings.Join(msgs, "; "))
	}
	return nil
}

// FromConnect implements converter.Converter.
func (c *Converter) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		// A null is a Kafka null (a tombstone), not an Avro null.
		return nil, nil
	}
	t, err := c.targetFor(topic, s)
	if err != nil {
		return nil, err
	}
	out, err := t.write(make([]byte, 0, t.nextSize()), v)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize Avro data from topic %s: %w", topic, err)
	}
	return out, nil
}

// FromConnectBuffer implements converter.Pooled: FromConnect into a
// buffer from the converter's pool, large enough for the last message
// of the same target.
func (c *Converter) FromConnectBuffer(topic string, s *connect.Schema, v any) (*converter.Buffer, error) {
	if v == nil {
		return nil, nil
	}
	t, err := c.targetFor(topic, s)
	if err != nil {
		return nil, err
	}
	b := c.buffers.Get(t.nextSize())
	out, err := t.write(b.AvailableBuffer(), v)
	if err != nil {
		b.Release()
		return nil, fmt.Errorf("failed to serialize Avro data from topic %s: %w", topic, err)
	}
	b.SetBytes(out)
	return b, nil
}

// nextSize is the capacity for the next message: the last one's length
// and a little room for longer values.
func (t *target) nextSize() int {
	if n := t.size.Load(); n > 0 {
		return int(n) + 16
	}
	return 64
}

// write appends the framed message for v to out.
func (t *target) write(out []byte, v any) ([]byte, error) {
	out = append(out, MagicByte, byte(t.id>>24), byte(t.id>>16), byte(t.id>>8), byte(t.id))
	out, err := t.enc.encode(out, v)
	if err != nil {
		return nil, err
	}
	t.size.Store(int64(len(out)))
	return out, nil
}

// targetFor finds the target a value of s on topic is written with.
func (c *Converter) targetFor(topic string, s *connect.Schema) (*target, error) {
	if s == nil {
		return nil, fmt.Errorf("topic %s: schemaless data is not supported by the Avro converter", topic)
	}
	p, err := c.plan(s)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize Avro data from topic %s: %w", topic, err)
	}
	expiring := c.cfg.UseLatestVersion && !c.cfg.AutoRegister
	if !expiring {
		p.mu.RLock()
		t, ok := p.byTopic[topic]
		p.mu.RUnlock()
		if ok {
			return t, nil
		}
	}
	subject, err := c.strategy().Subject(topic, c.isKey, p.avro)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	t, err := c.target(p, subject)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize Avro data from topic %s: %w", topic, err)
	}
	if !expiring {
		p.mu.Lock()
		if len(p.byTopic) >= c.cfg.CacheSize {
			p.byTopic = map[string]*target{}
		}
		p.byTopic[topic] = t
		p.mu.Unlock()
	}
	return t, nil
}

// ToConnect implements converter.Converter: it reads the writer schema by
// id (once per id) and returns the Connect schema and value AvroData would.
func (c *Converter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	id, payload, err := SplitFrame(data)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to deserialize data for topic %s to Avro: %w", topic, err)
	}
	r, err := c.reader(topic, id)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to deserialize data for topic %s to Avro: %w", topic, err)
	}
	if r.w.Type == "bytes" {
		// Top-level bytes are written raw by the serializer.
		if r.cs.Name == connect.DecimalName {
			return r.cs, connect.Decimal{Unscaled: connect.DecimalFromBytes(payload), Scale: decimalScale(r.cs)}, nil
		}
		return r.cs, append([]byte(nil), payload...), nil
	}
	d := &decoder{opts: c.cfg.Data}
	v, rest, err := d.decode(r.w, r.cs, payload)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to deserialize data for topic %s to Avro (schema id %d): %w", topic, id, err)
	}
	if len(rest) > 0 {
		return nil, nil, fmt.Errorf("failed to deserialize data for topic %s to Avro (schema id %d): %d bytes left after the value", topic, id, len(rest))
	}
	return r.cs, v, nil
}

func (c *Converter) reader(topic string, id int) (*reader, error) {
	key := topic + "\x00" + strconv.Itoa(id)
	c.mu.RLock()
	r, ok := c.readers[key]
	c.mu.RUnlock()
	if ok {
		return r, nil
	}
	ctx, cancel := c.ctx()
	defer cancel()
	text, err := c.reg.SchemaByID(ctx, id)
	if err != nil {
		return nil, err
	}
	w, err := Parse(text)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	// Without connect.version, AvroConverter versions the Connect schema
	// with the writer schema's version under the topic's subject.
	version := 0
	if w.Prop(propConnectVersion) == nil {
		if subject, err := c.strategy().Subject(topic, c.isKey, w); err == nil {
			// CachedSchemaRegistryClient.getVersion looks up with
			// deleted=true: a soft-deleted writer schema keeps its version.
			if sv, err := c.reg.Lookup(ctx, subject, text, true); err == nil {
				version = sv.Version
			}
		}
	}
	cs, err := ToConnectSchema(w, version, c.cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	r = &reader{w: w, cs: cs}
	c.mu.Lock()
	if len(c.readers) >= c.cfg.CacheSize {
		c.readers = map[string]*reader{}
	}
	c.readers[key] = r
	c.mu.Unlock()
	return r, nil
}
