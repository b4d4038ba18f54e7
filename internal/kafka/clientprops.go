package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/redact"
)

// ClientConfig builds a sarama configuration from Kafka client properties
// as Kafka Connect hands them to its clients: the worker's top-level
// settings merged with its producer.*, consumer.* and admin.* ones, or a
// connector's producer.override.* and consumer.override.*.
//
// Every property is applied with Kafka's meaning or refused with the
// reason: a property Kafka defines for another kind of client, or one
// sarama has no equivalent for, is an error naming it, never ignored.
type ClientConfig struct {
	Brokers  []string
	ClientID string
	// Props are producer properties and properties every client has
	// (security.protocol, sasl.*, ssl.*, request.timeout.ms...).
	Props map[string]string
	// Consumer are consumer properties (and common ones) for the clients
	// that read: sink tasks, signal and internal topic readers.
	Consumer map[string]string
	// Admin are admin client properties (and common ones).
	Admin map[string]string
}

// clientRole is the kind of Kafka client a property is defined for.
type clientRole uint8

const (
	roleProducer clientRole = 1 << iota
	roleConsumer
	roleAdmin
	roleCommon = roleProducer | roleConsumer | roleAdmin
)

func (r clientRole) String() string {
	var s []string
	for _, x := range []struct {
		r clientRole
		n string
	}{{roleProducer, "producer"}, {roleConsumer, "consumer"}, {roleAdmin, "admin client"}} {
		if r&x.r != 0 {
			s = append(s, x.n)
		}
	}
	return strings.Join(s, "/")
}

// clientProp is how one Kafka client property is handled: applied to the
// sarama configuration being built, or refused with the reason.
type clientProp struct {
	roles  clientRole
	apply  func(b *clientBuilder, v string) error
	refuse string
}

// clientBuilder collects the settings that several properties combine
// into (TLS, SASL, retry backoff) before they are written to sc.
type clientBuilder struct {
	sc    *sarama.Config
	props map[string]roleValue // every property, for the combined ones

	tls          bool
	saslEnabled  bool
	user, pass   string
	backoff      time.Duration
	backoffMax   time.Duration
	producerTry  int           // retries, -1 when unset
	deliveryTime time.Duration // delivery.timeout.ms, 0 when unset
}

// SaramaConfig returns a producer/consumer-ready sarama config: idempotent,
// acks=all, ordered (one in-flight request per broker, as idempotence
// with sarama requires), with every property applied.
func (c ClientConfig) SaramaConfig() (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.Version = sarama.V3_6_0_0
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = "tributary"
	}
	sc.Metadata.AllowAutoTopicCreation = true
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	// Kafka Connect gives source producers delivery.timeout.ms=MAX_INT:
	// a broker that is down, hung or restarting is waited for, not a
	// reason to fail the task; errors that no retry can fix (record too
	// large, authorization) still come back at once. Memory stays bounded
	// by the runtime's in-flight limits while records wait. sarama fails a
	// message when a leader lookup exhausts the metadata retries, so both
	// are raised: with the 1 s backoff cap about a quarter of an hour of
	// outage is ridden out. (Not unlimited: sarama keeps per-partition
	// state for every retry level.)
	sc.Producer.Retry.Max = maxRetries
	sc.Metadata.Retry.Max = maxRetries
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = newJavaPartitioner
	sc.Producer.MaxMessageBytes = 1 << 20
	sc.Producer.Flush.Bytes = 1 << 20
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	sc.Producer.Flush.MaxMessages = 0
	sc.ChannelBufferSize = 4096
	sc.Producer.Compression = sarama.CompressionNone
	// Kafka Connect's sink consumers start at the earliest offset of a
	// partition without a committed offset.
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest

	props, err := mergeClientProps(c.Props, c.Consumer, c.Admin)
	if err != nil {
		return nil, err
	}
	b := &clientBuilder{sc: sc, props: props, backoff: 100 * time.Millisecond, backoffMax: time.Second, producerTry: -1}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if err := b.set(k, props[k].value, props[k].role); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client configuration: %w", err)
	}
	return sc, nil
}

// ValidateClientProps checks Kafka client properties given for one kind
// of client ("producer", "consumer" or "admin"), reporting every property
// that would be refused.
func ValidateClientProps(kind string, props map[string]string) error {
	var c ClientConfig
	switch kind {
	case "producer":
		c.Props = props
	case "consumer":
		c.Consumer = props
	case "admin":
		c.Admin = props
	default:
		return fmt.Errorf("unknown Kafka client kind %q", kind)
	}
	_, err := c.SaramaConfig()
	return err
}

// CheckClientProp reports whether one property given for one kind of
// client ("producer", "consumer" or "admin") is accepted, on its own:
// settings that combine (security.protocol with sasl.jaas.config) are
// checked together by SaramaConfig.
func CheckClientProp(kind, key, value string) error {
	role, ok := map[string]clientRole{"producer": roleProducer, "consumer": roleConsumer, "admin": roleAdmin}[kind]
	if !ok {
		return fmt.Errorf("unknown Kafka client kind %q", kind)
	}
	b := &clientBuilder{sc: sarama.NewConfig(), props: map[string]roleValue{}, producerTry: -1}
	return b.set(strings.TrimSpace(key), strings.TrimSpace(value), role)
}

type roleValue struct {
	value string
	role  clientRole
}

// mergeClientProps puts the properties of the three clients together:
// Tributary's clients share one configuration (and one connection per
// broker), so a setting every client has must not differ between them.
func mergeClientProps(producer, consumer, admin map[string]string) (map[string]roleValue, error) {
	out := map[string]roleValue{}
	var errs []error
	for _, side := range []struct {
		m    map[string]string
		role clientRole
	}{{producer, roleProducer}, {consumer, roleConsumer}, {admin, roleAdmin}} {
		for k, v := range side.m {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			prev, seen := out[k]
			if seen && prev.value != v {
				errs = append(errs, fmt.Errorf("%s: the %s and %s settings differ; Tributary's clients share one connection per broker, so set it once (at the worker's top level) or to the same value", k, prev.role, side.role))
				continue
			}
			out[k] = roleValue{value: v, role: prev.role | side.role}
		}
	}
	return out, errors.Join(errs...)
}

func (b *clientBuilder) set(k, v string, given clientRole) error {
	shown := v
	if redact.Name(k) {
		shown = redact.Hidden
	}
	p, ok := clientProps[k]
	if !ok {
		if strings.HasPrefix(k, "sasl.kerberos.") || strings.HasPrefix(k, "sasl.login.") || strings.HasPrefix(k, "sasl.oauthbearer.") || strings.HasPrefix(k, "sasl.client.callback") {
			return fmt.Errorf("%s: not supported: only the PLAIN and SCRAM-SHA-256/512 SASL mechanisms are, which need none of Kafka's sasl.login.*, sasl.kerberos.* or sasl.oauthbearer.* settings", k)
		}
		if strings.HasPrefix(k, "metric") || strings.HasPrefix(k, "metrics.") {
			return fmt.Errorf("%s: not supported: client metrics are Java MBeans in Kafka; Tributary exports its own on /metrics", k)
		}
		return fmt.Errorf("%s: not a Kafka client property Tributary knows (check the name; Kafka would only warn and ignore it)", k)
	}
	if p.refuse != "" {
		return fmt.Errorf("%s=%q: not supported: %s", k, shown, p.refuse)
	}
	if wrong := given &^ p.roles; wrong != 0 {
		return fmt.Errorf("%s: a %s property, given for the %s", k, p.roles, wrong)
	}
	if err := p.apply(b, v); err != nil {
		return fmt.Errorf("%s=%q: %w", k, shown, err)
	}
	return nil
}

// finish writes the settings several properties contribute to.
func (b *clientBuilder) finish() error {
	sc := b.sc
	base, most := b.backoff, b.backoffMax
	if most < base {
		most = base
	}
	backoff := func(retries, _ int) time.Duration {
		d := base << min(retries, 16)
		if d <= 0 || d > most {
			d = most
		}
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	}
	sc.Producer.Retry.BackoffFunc = backoff
	sc.Metadata.Retry.BackoffFunc = backoff
	if sc.Producer.Flush.Frequency == 0 {
		// linger.ms=0: Kafka sends a batch as soon as the connection is
		// free. sarama with a byte threshold and no timer would hold the
		// records until batch.size bytes arrive (a backlog's tail forever);
		// a one-record threshold makes it send at once. Batches still grow
		// while a request is in flight, up to max.request.size. Flush.Bytes
		// keeps batch.size for the kgo producer's batches.
		sc.Producer.Flush.Messages = 1
	}
	sc.Admin.Retry.Backoff = base
	switch {
	case b.producerTry >= 0:
		sc.Producer.Retry.Max = b.producerTry
	case b.deliveryTime > 0:
		// sarama bounds retries by count, Kafka by time: the count that
		// spends delivery.timeout.ms at the backoff cap.
		sc.Producer.Retry.Max = max(1, int(b.deliveryTime/most))
	}
	if b.saslEnabled {
		if err := b.sasl(); err != nil {
			return err
		}
	}
	if b.tls {
		tc, err := tlsConfig(b.props)
		if err != nil {
			return err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	return nil
}

func (b *clientBuilder) sasl() error {
	sc := b.sc
	sc.Net.SASL.Enable = true
	mech := strings.ToUpper(b.props["sasl.mechanism"].value)
	if mech == "" {
		mech = "GSSAPI" // Kafka's default
	}
	user, pass := b.user, b.pass
	if jaas := b.props["sasl.jaas.config"].value; jaas != "" {
		module, opts, err := parseJAAS(jaas)
		if err != nil {
			return fmt.Errorf("sasl.jaas.config: %w", err)
		}
		want := map[string]string{"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
			"SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
			"SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}[mech]
		if want != "" && module != want {
			return fmt.Errorf("sasl.jaas.config: sasl.mechanism=%s needs %s, not %s", mech, want, module)
		}
		if user == "" {
			user = opts["username"]
		}
		if pass == "" {
			pass = opts["password"]
		}
	}
	switch mech {
	case "PLAIN":
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case "SCRAM-SHA-256":
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scramSHA256} }
	case "SCRAM-SHA-512":
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scramSHA512} }
	default:
		return fmt.Errorf("sasl.mechanism=%q: not supported: Tributary authenticates with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (Kafka's default GSSAPI applies when sasl.mechanism is not set)", b.props["sasl.mechanism"].value)
	}
	if user == "" {
		return errors.New("sasl.jaas.config: no username: give org.apache.kafka.common.security.plain.PlainLoginModule (or ScramLoginModule) required username=\"...\" password=\"...\";")
	}
	sc.Net.SASL.User, sc.Net.SASL.Password = user, pass
	return nil
}

// parseJAAS reads Kafka's sasl.jaas.config: one login module, the flag
// "required", and key="value" options, ended by a semicolon.
func parseJAAS(s string) (module string, opts map[string]string, err error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ";")
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return "", nil, errors.New(`expected "<LoginModule class> required key=\"value\" ...;"`)
	}
	module = fields[0]
	switch strings.ToLower(fields[1]) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return "", nil, fmt.Errorf("expected a control flag (required) after %s", module)
	}
	rest := strings.TrimSpace(s[strings.Index(s, fields[1])+len(fields[1]):])
	opts = map[string]string{}
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return "", nil, fmt.Errorf("expected key=\"value\" at %q", firstWord(rest))
		}
		key := strings.TrimSpace(rest[:eq])
		rest = strings.TrimSpace(rest[eq+1:])
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			var sb strings.Builder
			for ; end < len(rest) && rest[end] != '"'; end++ {
				if rest[end] == '\\' && end+1 < len(rest) {
					end++
				}
				sb.WriteByte(rest[end])
			}
			if end >= len(rest) {
				return "", nil, fmt.Errorf("unterminated quoted value of %s", key)
			}
			val, rest = sb.String(), strings.TrimSpace(rest[end+1:])
		} else {
			w := firstWord(rest)
			val, rest = w, strings.TrimSpace(rest[len(w):])
		}
		opts[key] = val
	}
	return module, opts, nil
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// The property table. Java-only settings and those sarama has no
// equivalent for are refused with the reason.
var clientProps = map[string]clientProp{
	// every client
	"bootstrap.servers": {roles: roleCommon, refuse: "a client cannot be pointed at another cluster than the worker's bootstrap.servers"},
	"client.id":         {roles: roleCommon, apply: func(b *clientBuilder, v string) error { b.sc.ClientID = v; return nil }},
	"client.rack":       {roles: roleConsumer, apply: func(b *clientBuilder, v string) error { b.sc.RackID = v; return nil }},
	"client.dns.lookup": {roles: roleCommon, apply: func(_ *clientBuilder, v string) error {
		if v != "use_all_dns_ips" {
			return errors.New("only use_all_dns_ips (Kafka's default) is supported: every address a name resolves to is tried")
		}
		return nil
	}},
	"security.protocol": {roles: roleCommon, apply: func(b *clientBuilder, v string) error {
		switch strings.ToUpper(v) {
		case "PLAINTEXT":
		case "SSL":
			b.tls = true
		case "SASL_PLAINTEXT":
			b.saslEnabled = true
		case "SASL_SSL":
			b.saslEnabled, b.tls = true, true
		default:
			return errors.New("must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
		}
		return nil
	}},
	"sasl.mechanism":   {roles: roleCommon, apply: func(*clientBuilder, string) error { return nil }}, // read in sasl()
	"sasl.jaas.config": {roles: roleCommon, apply: func(*clientBuilder, string) error { return nil }}, // read in sasl()
	// Tributary's own shorthand for the JAAS username and password.
	"sasl.username": {roles: roleCommon, apply: func(b *clientBuilder, v string) error { b.user = v; return nil }},
	"sasl.password": {roles: roleCommon, apply: func(b *clientBuilder, v string) error { b.pass = v; return nil }},
	// TLS: PEM files or inline PEM, as Kafka's ssl.*.type=PEM takes them
	"ssl.truststore.location":        {roles: roleCommon, apply: noop},
	"ssl.truststore.certificates":    {roles: roleCommon, apply: noop},
	"ssl.keystore.location":          {roles: roleCommon, apply: noop},
	"ssl.key.location":               {roles: roleCommon, apply: noop}, // Tributary's: the key of a keystore file holding only certificates
	"ssl.keystore.certificate.chain": {roles: roleCommon, apply: noop},
	"ssl.keystore.key":               {roles: roleCommon, apply: noop},
	"ssl.truststore.type":            {roles: roleCommon, apply: pemOnly},
	"ssl.keystore.type":              {roles: roleCommon, apply: pemOnly},
	"ssl.truststore.password":        {roles: roleCommon, refuse: "Tributary reads PEM truststores, which have no password (convert a JKS or PKCS12 store with keytool/openssl)"},
	"ssl.keystore.password":          {roles: roleCommon, refuse: "Tributary reads PEM keystores, which have no password (convert a JKS or PKCS12 store with keytool/openssl)"},
	"ssl.key.password":               {roles: roleCommon, refuse: "encrypted private keys are not supported; give the key unencrypted in a file readable only by Tributary"},
	"ssl.endpoint.identification.algorithm": {roles: roleCommon, apply: func(_ *clientBuilder, v string) error {
		if v != "" && !strings.EqualFold(v, "https") {
			return errors.New(`must be "https" (verify the broker's host name, Kafka's default) or empty (do not)`)
		}
		return nil
	}},
	"ssl.protocol":                     {roles: roleCommon, apply: func(_ *clientBuilder, v string) error { _, err := tlsVersion(v); return err }},
	"ssl.enabled.protocols":            {roles: roleCommon, apply: func(_ *clientBuilder, v string) error { _, err := tlsVersions(v); return err }},
	"ssl.cipher.suites":                {roles: roleCommon, refuse: "Go's TLS stack chooses among its secure cipher suites itself"},
	"ssl.provider":                     {roles: roleCommon, refuse: "a Java security provider setting"},
	"ssl.engine.factory.class":         {roles: roleCommon, refuse: "a Java class"},
	"ssl.keymanager.algorithm":         {roles: roleCommon, refuse: "a Java key manager setting"},
	"ssl.trustmanager.algorithm":       {roles: roleCommon, refuse: "a Java trust manager setting"},
	"ssl.secure.random.implementation": {roles: roleCommon, refuse: "a Java random number generator setting"},
	"request.timeout.ms": {roles: roleCommon, apply: millis(func(b *clientBuilder, d time.Duration) {
		b.sc.Net.ReadTimeout, b.sc.Net.WriteTimeout = d, d
		b.sc.Producer.Timeout = d
		b.sc.Admin.Timeout = d
	})},
	"default.api.timeout.ms":                 {roles: roleConsumer | roleAdmin, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Admin.Timeout = d })},
	"socket.connection.setup.timeout.ms":     {roles: roleCommon, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Net.DialTimeout = d })},
	"retry.backoff.ms":                       {roles: roleCommon, apply: millis(func(b *clientBuilder, d time.Duration) { b.backoff = d })},
	"retry.backoff.max.ms":                   {roles: roleCommon, apply: millis(func(b *clientBuilder, d time.Duration) { b.backoffMax = d })},
	"metadata.max.age.ms":                    {roles: roleCommon, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Metadata.RefreshFrequency = d })},
	"connections.max.idle.ms":                {roles: roleCommon, refuse: "sarama keeps broker connections open while the client lives"},
	"reconnect.backoff.ms":                   {roles: roleCommon, refuse: "sarama reconnects on the next request, with retry.backoff.ms between retries"},
	"reconnect.backoff.max.ms":               {roles: roleCommon, refuse: "sarama reconnects on the next request, with retry.backoff.ms between retries"},
	"socket.connection.setup.timeout.max.ms": {roles: roleCommon, refuse: "connection attempts time out after socket.connection.setup.timeout.ms, without exponential growth"},
	"send.buffer.bytes":                      {roles: roleCommon, refuse: "the operating system's socket buffer sizes are used"},
	"receive.buffer.bytes":                   {roles: roleCommon, refuse: "the operating system's socket buffer sizes are used"},
	"interceptor.classes":                    {roles: roleProducer | roleConsumer, refuse: "Java interceptor classes cannot be loaded"},
	"auto.include.jmx.reporter":              {roles: roleCommon, apply: only("false", "client metrics are Java MBeans in Kafka; Tributary exports its own on /metrics")},
	"enable.metrics.push":                    {roles: roleCommon, apply: only("false", "client metrics are not pushed to the broker; Tributary exports its own on /metrics")},
	"retries": {roles: roleProducer | roleAdmin, apply: func(b *clientBuilder, v string) error {
		n, err := nonNegative(v)
		if err != nil {
			return err
		}
		b.producerTry = n
		b.sc.Admin.Retry.Max = n
		return nil
	}},

	// producer
	"acks": {roles: roleProducer, apply: func(_ *clientBuilder, v string) error {
		if v != "all" && v != "-1" {
			return errors.New("only acks=all (or -1) is supported: Tributary always produces with it so that offsets are committed only for durable records")
		}
		return nil
	}},
	"enable.idempotence": {roles: roleProducer, apply: func(b *clientBuilder, v string) error {
		switch strings.ToLower(v) {
		case "true":
			b.sc.Producer.Idempotent, b.sc.Net.MaxOpenRequests = true, 1
		case "false":
			b.sc.Producer.Idempotent, b.sc.Net.MaxOpenRequests = false, 5
		default:
			return errors.New("must be true or false")
		}
		return nil
	}},
	"max.in.flight.requests.per.connection": {roles: roleProducer, apply: func(b *clientBuilder, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errors.New("not a positive integer")
		}
		if b.sc.Producer.Idempotent && n != 1 {
			// Kafka keeps order with up to 5 idempotent requests in
			// flight; sarama only with one.
			return errors.New("with enable.idempotence=true sarama keeps records in order only with 1 request in flight (Kafka Connect's own default for source producers)")
		}
		b.sc.Net.MaxOpenRequests = n
		return nil
	}},
	"compression.type": {roles: roleProducer, apply: enum(map[string]sarama.CompressionCodec{"none": sarama.CompressionNone, "": sarama.CompressionNone,
		"gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD},
		"none, gzip, snappy, lz4 or zstd", func(sc *sarama.Config, c sarama.CompressionCodec) { sc.Producer.Compression = c })},
	"compression.gzip.level": {roles: roleProducer, apply: compressionLevel},
	"compression.lz4.level":  {roles: roleProducer, apply: compressionLevel},
	"compression.zstd.level": {roles: roleProducer, apply: compressionLevel},
	"linger.ms":              {roles: roleProducer, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Producer.Flush.Frequency = d })},
	"batch.size": {roles: roleProducer, apply: func(b *clientBuilder, v string) error {
		n, err := positive(v)
		b.sc.Producer.Flush.Bytes = n
		return err
	}},
	"max.request.size": {roles: roleProducer, apply: func(b *clientBuilder, v string) error {
		n, err := positive(v)
		b.sc.Producer.MaxMessageBytes = n
		return err
	}},
	"delivery.timeout.ms": {roles: roleProducer, apply: millis(func(b *clientBuilder, d time.Duration) { b.deliveryTime = d })},
	"partitioner.class": {roles: roleProducer, apply: func(_ *clientBuilder, v string) error {
		if v != "org.apache.kafka.clients.producer.internals.DefaultPartitioner" {
			return errors.New("only Kafka's default partitioner (murmur2 of the key, as Tributary always uses) is supported")
		}
		return nil
	}},
	"partitioner.ignore.keys":                  {roles: roleProducer, refuse: "records are always partitioned by the murmur2 hash of their key, as Kafka Connect's producers do"},
	"partitioner.adaptive.partitioning.enable": {roles: roleProducer, refuse: "records are always partitioned by the murmur2 hash of their key, as Kafka Connect's producers do"},
	"buffer.memory":                            {roles: roleProducer, refuse: "memory is bounded by the runtime's in-flight limits (max.queue.size, max.batch.size), not by a producer buffer"},
	"max.block.ms":                             {roles: roleProducer, refuse: "producing never blocks on a full buffer; the runtime applies back-pressure to the connector instead"},
	"key.serializer":                           {roles: roleProducer, refuse: "Kafka Connect's clients always use byte-array serializers; the converters serialize"},
	"value.serializer":                         {roles: roleProducer, refuse: "Kafka Connect's clients always use byte-array serializers; the converters serialize"},
	"transactional.id":                         {roles: roleProducer, refuse: "set by the worker for exactly-once source tasks (exactly.once.source.support=enabled) as ${group.id}-${connector}-${task}; it cannot be configured"},
	// Bounds how long a transaction may stay open: with exactly-once
	// delivery a whole initial snapshot is one transaction, so large
	// snapshots need more than the one-minute default.
	"transaction.timeout.ms": {roles: roleProducer, apply: func(b *clientBuilder, v string) error {
		n, err := positive(v)
		b.sc.Producer.Transaction.Timeout = time.Duration(n) * time.Millisecond
		return err
	}},

	// consumer
	"fetch.min.bytes": {roles: roleConsumer, apply: func(b *clientBuilder, v string) error {
		n, err := positive(v)
		b.sc.Consumer.Fetch.Min = int32(n)
		return err
	}},
	"fetch.max.bytes": {roles: roleConsumer, apply: func(b *clientBuilder, v string) error {
		n, err := positive(v)
		b.sc.Consumer.Fetch.Max = int32(n)
		return err
	}},
	"max.partition.fetch.bytes": {roles: roleConsumer, apply: func(b *clientBuilder, v string) error {
		n, err := positive(v)
		b.sc.Consumer.Fetch.Default = int32(n)
		return err
	}},
	"fetch.max.wait.ms": {roles: roleConsumer, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Consumer.MaxWaitTime = d })},
	"isolation.level": {roles: roleConsumer, apply: enum(map[string]sarama.IsolationLevel{"read_uncommitted": sarama.ReadUncommitted, "read_committed": sarama.ReadCommitted},
		"read_uncommitted or read_committed", func(sc *sarama.Config, l sarama.IsolationLevel) { sc.Consumer.IsolationLevel = l })},
	"auto.offset.reset": {roles: roleConsumer, apply: enum(map[string]int64{"earliest": sarama.OffsetOldest, "latest": sarama.OffsetNewest},
		"earliest or latest", func(sc *sarama.Config, o int64) { sc.Consumer.Offsets.Initial = o })},
	"session.timeout.ms":    {roles: roleConsumer, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Consumer.Group.Session.Timeout = d })},
	"heartbeat.interval.ms": {roles: roleConsumer, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Consumer.Group.Heartbeat.Interval = d })},
	// The rebalance timeout a consumer sends in JoinGroup is Kafka's
	// max.poll.interval.ms.
	"max.poll.interval.ms": {roles: roleConsumer, apply: millis(func(b *clientBuilder, d time.Duration) { b.sc.Consumer.Group.Rebalance.Timeout = d })},
	// Read by the sink runner (the largest batch handed to a task's Put).
	"max.poll.records":  {roles: roleConsumer, apply: func(_ *clientBuilder, v string) error { _, err := positive(v); return err }},
	"group.instance.id": {roles: roleConsumer, apply: func(b *clientBuilder, v string) error { b.sc.Consumer.Group.InstanceId = v; return nil }},
	"partition.assignment.strategy": {roles: roleConsumer, apply: func(b *clientBuilder, v string) error {
		var out []sarama.BalanceStrategy
		for _, s := range strings.Split(v, ",") {
			switch strings.TrimSpace(s) {
			case "org.apache.kafka.clients.consumer.RangeAssignor":
				out = append(out, sarama.NewBalanceStrategyRange())
			case "org.apache.kafka.clients.consumer.RoundRobinAssignor":
				out = append(out, sarama.NewBalanceStrategyRoundRobin())
			case "org.apache.kafka.clients.consumer.StickyAssignor":
				out = append(out, sarama.NewBalanceStrategySticky())
			case "org.apache.kafka.clients.consumer.CooperativeStickyAssignor":
				// Kafka's default list is [Range, CooperativeSticky]: the
				// group uses Range until every member moves on; sarama
				// has no cooperative protocol, so Range it stays.
			default:
				return fmt.Errorf("unknown assignor %q: Kafka's RangeAssignor, RoundRobinAssignor and StickyAssignor are supported", strings.TrimSpace(s))
			}
		}
		if len(out) == 0 {
			return errors.New("sarama has no cooperative rebalancing: name RangeAssignor, RoundRobinAssignor or StickyAssignor as well")
		}
		b.sc.Consumer.Group.Rebalance.GroupStrategies = out
		return nil
	}},
	"enable.auto.commit": {roles: roleConsumer, apply: func(_ *clientBuilder, v string) error {
		if !strings.EqualFold(v, "false") {
			return errors.New("must be false: Kafka Connect commits a sink's offsets itself, after the task has written the records; automatic commits would lose records")
		}
		return nil
	}},
	"group.id":                 {roles: roleConsumer, refuse: "a sink connector's consumer group is connect-<connector name>, or the connector's consumer.override.group.id, as in Kafka Connect"},
	"key.deserializer":         {roles: roleConsumer, refuse: "Kafka Connect's clients always use byte-array deserializers; the converters deserialize"},
	"value.deserializer":       {roles: roleConsumer, refuse: "Kafka Connect's clients always use byte-array deserializers; the converters deserialize"},
	"check.crcs":               {roles: roleConsumer, apply: only("true", "sarama always checks record CRCs")},
	"exclude.internal.topics":  {roles: roleConsumer, refuse: "sink connectors subscribe by topics or topics.regex, never to internal topics"},
	"allow.auto.create.topics": {roles: roleConsumer, refuse: "consumers never create topics"},
	"auto.commit.interval.ms":  {roles: roleConsumer, refuse: "Kafka Connect commits a sink's offsets itself (enable.auto.commit is false)"},
	"group.protocol":           {roles: roleConsumer, refuse: "only the classic consumer group protocol is supported"},
}

// clientPropNotes say how an applied property maps where that is not
// plain Kafka semantics (docs/kafka-clients.md).
var clientPropNotes = map[string]string{
	"acks":                                  "only `all`/`-1`",
	"batch.size":                            "at least 512; a record larger than it fails (Kafka would send it in a batch of its own)",
	"compression.lz4.level":                 "1 to 9 (Go's lz4 has no levels 10-17); 9, Kafka's default, is lz4's fast compressor as in Kafka",
	"client.dns.lookup":                     "only `use_all_dns_ips` (every resolved address is tried)",
	"delivery.timeout.ms":                   "converted into a number of retries at the backoff cap (`retry.backoff.max.ms`)",
	"transaction.timeout.ms":                "used by exactly-once source tasks (a whole initial snapshot is one transaction); it also bounds their produce retries",
	"auto.include.jmx.reporter":             "only `false`: no JMX; Tributary exports its own metrics on /metrics",
	"enable.metrics.push":                   "only `false`: Tributary exports its own metrics on /metrics",
	"check.crcs":                            "only `true`: sarama always checks record CRCs",
	"enable.auto.commit":                    "only `false`: the sink runner commits after the task has written the records",
	"max.in.flight.requests.per.connection": "1 with idempotence (sarama, which exactly-once producers use, keeps order only then); up to any value without",
	"max.poll.interval.ms":                  "sent as the consumer group's rebalance timeout, which is what Kafka uses it for",
	"max.poll.records":                      "the largest batch handed to a sink task's put",
	"partition.assignment.strategy":         "Range, RoundRobin, Sticky; CooperativeSticky is skipped (no cooperative protocol in sarama), so Kafka's default list means Range",
	"partitioner.class":                     "only Kafka's DefaultPartitioner (murmur2 of the key)",
	"request.timeout.ms":                    "network read/write timeout, the produce request's timeout and the admin timeout",
	"retries":                               "producer and admin retries",
	"sasl.jaas.config":                      "PlainLoginModule or ScramLoginModule `required username=\"...\" password=\"...\";`",
	"sasl.mechanism":                        "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
	"sasl.password":                         "Tributary's shorthand for the JAAS password",
	"sasl.username":                         "Tributary's shorthand for the JAAS username",
	"security.protocol":                     "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
	"ssl.endpoint.identification.algorithm": "`https` (default: host name checked) or empty (host name not checked, certificate chain still checked)",
	"ssl.enabled.protocols":                 "TLSv1.2, TLSv1.3 (the lowest listed is the minimum)",
	"ssl.key.location":                      "Tributary's: the key file when ssl.keystore.location holds only certificates",
	"ssl.keystore.location":                 "PEM file with the private key and its certificate chain",
	"ssl.keystore.type":                     "only PEM",
	"ssl.protocol":                          "TLSv1.2, TLSv1.3",
	"ssl.truststore.location":               "PEM file of CA certificates",
	"ssl.truststore.type":                   "only PEM",
}

func noop(*clientBuilder, string) error { return nil }

// enum applies one of a property's named values (case-insensitive).
func enum[T any](values map[string]T, names string, set func(*sarama.Config, T)) func(*clientBuilder, string) error {
	return func(b *clientBuilder, v string) error {
		x, ok := values[strings.ToLower(v)]
		if !ok {
			return errors.New("must be " + names)
		}
		set(b.sc, x)
		return nil
	}
}

// only accepts the one value that is what Tributary does anyway.
func only(value, why string) func(*clientBuilder, string) error {
	return func(_ *clientBuilder, v string) error {
		if !strings.EqualFold(v, value) {
			return fmt.Errorf("only %s is supported: %s", value, why)
		}
		return nil
	}
}

func pemOnly(_ *clientBuilder, v string) error {
	if !strings.EqualFold(v, "PEM") {
		return errors.New("only PEM is supported (convert a JKS or PKCS12 store with keytool/openssl)")
	}
	return nil
}

func compressionLevel(b *clientBuilder, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("not an integer")
	}
	b.sc.Producer.CompressionLevel = n
	return nil
}

func millis(set func(*clientBuilder, time.Duration)) func(*clientBuilder, string) error {
	return func(b *clientBuilder, v string) error {
		n, err := nonNegative(v)
		if err != nil {
			return err
		}
		set(b, time.Duration(n)*time.Millisecond)
		return nil
	}
}

func nonNegative(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errors.New("not a non-negative integer")
	}
	return n, nil
}

func positive(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive integer")
	}
	return n, nil
}

// maxRetries bounds produce and metadata retries; see SaramaConfig.
const maxRetries = 1000

func tlsVersion(v string) (uint16, error) {
	switch strings.ToUpper(v) {
	case "TLSV1.2":
		return tls.VersionTLS12, nil
	case "TLSV1.3", "TLS":
		return tls.VersionTLS13, nil
	}
	return 0, errors.New("must be TLSv1.2 or TLSv1.3 (older protocols are insecure and not offered)")
}

// tlsVersions returns the lowest of a list of protocols.
func tlsVersions(v string) (uint16, error) {
	low := uint16(0)
	for _, p := range strings.Split(v, ",") {
		n, err := tlsVersion(strings.TrimSpace(p))
		if err != nil {
			return 0, err
		}
		if low == 0 || n < low {
			low = n
		}
	}
	return low, nil
}

func tlsConfig(props map[string]roleValue) (*tls.Config, error) {
	p := func(k string) string { return props[k].value }
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if v := p("ssl.enabled.protocols"); v != "" {
		tc.MinVersion, _ = tlsVersions(v)
	}
	var roots []byte
	if ca := p("ssl.truststore.location"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		roots = pem
	}
	if inline := p("ssl.truststore.certificates"); inline != "" {
		roots = append(append(roots, '\n'), inline...)
	}
	if roots != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(roots) {
			return nil, errors.New("ssl.truststore.location/ssl.truststore.certificates: no PEM certificates found (Tributary reads PEM, not JKS)")
		}
		tc.RootCAs = pool
	}
	switch {
	case p("ssl.keystore.location") != "":
		certs, err := os.ReadFile(p("ssl.keystore.location"))
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		key := certs // Kafka's PEM keystore holds the key and its chain
		if kl := p("ssl.key.location"); kl != "" {
			if key, err = os.ReadFile(kl); err != nil {
				return nil, fmt.Errorf("ssl.key.location: %w", err)
			}
		}
		pair, err := tls.X509KeyPair(certs, key)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	case p("ssl.keystore.certificate.chain") != "":
		pair, err := tls.X509KeyPair([]byte(p("ssl.keystore.certificate.chain")), []byte(p("ssl.keystore.key")))
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.certificate.chain/ssl.keystore.key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if v, set := props["ssl.endpoint.identification.algorithm"]; set && v.value == "" {
		// Kafka still checks the certificate chain, only not the host
		// name: Go can only switch both off, so the chain is checked here.
		pool := tc.RootCAs
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	}
	return tc, nil
}
