package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestClientPropsApplied(t *testing.T) {
	cases := []struct {
		name  string
		cc    ClientConfig
		check func(*sarama.Config) bool
	}{
		{"linger", ClientConfig{Props: map[string]string{"linger.ms": "20"}}, func(sc *sarama.Config) bool { return sc.Producer.Flush.Frequency == 20*time.Millisecond }},
		{"linger 0 sends at once", ClientConfig{Props: map[string]string{"linger.ms": "0", "batch.size": "65536"}}, func(sc *sarama.Config) bool {
			return sc.Producer.Flush.Frequency == 0 && sc.Producer.Flush.Messages == 1 && sc.Producer.Flush.Bytes == 65536
		}},
		{"request timeout", ClientConfig{Props: map[string]string{"request.timeout.ms": "7000"}}, func(sc *sarama.Config) bool {
			return sc.Net.ReadTimeout == 7*time.Second && sc.Producer.Timeout == 7*time.Second
		}},
		{"retries", ClientConfig{Props: map[string]string{"retries": "3"}}, func(sc *sarama.Config) bool { return sc.Producer.Retry.Max == 3 }},
		{"delivery timeout", ClientConfig{Props: map[string]string{"delivery.timeout.ms": "120000"}}, func(sc *sarama.Config) bool { return sc.Producer.Retry.Max == 120 }},
		{"zstd level", ClientConfig{Props: map[string]string{"compression.type": "zstd", "compression.zstd.level": "5"}}, func(sc *sarama.Config) bool {
			return sc.Producer.Compression == sarama.CompressionZSTD && sc.Producer.CompressionLevel == 5
		}},
		{"not idempotent, 5 in flight", ClientConfig{Props: map[string]string{"enable.idempotence": "false", "max.in.flight.requests.per.connection": "5"}}, func(sc *sarama.Config) bool {
			return !sc.Producer.Idempotent && sc.Net.MaxOpenRequests == 5
		}},
		{"consumer fetch", ClientConfig{Consumer: map[string]string{"fetch.min.bytes": "1024", "max.partition.fetch.bytes": "2097152", "isolation.level": "read_committed"}}, func(sc *sarama.Config) bool {
			return sc.Consumer.Fetch.Min == 1024 && sc.Consumer.Fetch.Default == 2<<20 && sc.Consumer.IsolationLevel == sarama.ReadCommitted
		}},
		{"latest", ClientConfig{Consumer: map[string]string{"auto.offset.reset": "latest"}}, func(sc *sarama.Config) bool { return sc.Consumer.Offsets.Initial == sarama.OffsetNewest }},
		{"earliest by default", ClientConfig{}, func(sc *sarama.Config) bool { return sc.Consumer.Offsets.Initial == sarama.OffsetOldest }},
		{"group timings", ClientConfig{Consumer: map[string]string{"session.timeout.ms": "45000", "heartbeat.interval.ms": "3000", "max.poll.interval.ms": "300000", "group.instance.id": "w1"}}, func(sc *sarama.Config) bool {
			return sc.Consumer.Group.Session.Timeout == 45*time.Second && sc.Consumer.Group.Heartbeat.Interval == 3*time.Second &&
				sc.Consumer.Group.Rebalance.Timeout == 5*time.Minute && sc.Consumer.Group.InstanceId == "w1"
		}},
		{"kafka default assignors", ClientConfig{Consumer: map[string]string{"partition.assignment.strategy": "org.apache.kafka.clients.consumer.RangeAssignor,org.apache.kafka.clients.consumer.CooperativeStickyAssignor"}}, func(sc *sarama.Config) bool {
			return len(sc.Consumer.Group.Rebalance.GroupStrategies) == 1 && sc.Consumer.Group.Rebalance.GroupStrategies[0].Name() == "range"
		}},
		{"admin timeout", ClientConfig{Admin: map[string]string{"default.api.timeout.ms": "9000"}}, func(sc *sarama.Config) bool { return sc.Admin.Timeout == 9*time.Second }},
		{"same common value on two clients", ClientConfig{Props: map[string]string{"client.id": "x"}, Consumer: map[string]string{"client.id": "x"}}, func(sc *sarama.Config) bool { return sc.ClientID == "x" }},
		{"jaas plain", ClientConfig{Props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
			"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="KEY" password="p\"w;d";`}}, func(sc *sarama.Config) bool {
			return sc.Net.SASL.Enable && sc.Net.SASL.User == "KEY" && sc.Net.SASL.Password == `p"w;d` && sc.Net.SASL.Mechanism == sarama.SASLTypePlaintext
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := tc.cc.SaramaConfig()
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(sc) {
				t.Fatalf("%+v not applied", tc.cc)
			}
		})
	}
}

func TestClientPropsRefused(t *testing.T) {
	cases := []struct {
		name string
		cc   ClientConfig
		want string // in the error
	}{
		{"unknown", ClientConfig{Props: map[string]string{"linger.msec": "5"}}, "linger.msec: not a Kafka client property"},
		{"consumer property on the producer", ClientConfig{Props: map[string]string{"fetch.min.bytes": "5"}}, "fetch.min.bytes: a consumer property, given for the producer"},
		{"acks=1", ClientConfig{Props: map[string]string{"acks": "1"}}, "acks=\"1\": only acks=all"},
		{"JKS", ClientConfig{Props: map[string]string{"ssl.truststore.type": "JKS"}}, "only PEM"},
		{"truststore password hidden", ClientConfig{Props: map[string]string{"ssl.truststore.password": "hunter2"}}, "ssl.truststore.password=\"[hidden]\": not supported"},
		{"kerberos", ClientConfig{Props: map[string]string{"sasl.kerberos.service.name": "kafka"}}, "sasl.kerberos.service.name: not supported"},
		{"gssapi by default", ClientConfig{Props: map[string]string{"security.protocol": "SASL_SSL"}}, "sasl.mechanism=\"\": not supported"},
		{"jaas module mismatch", ClientConfig{Props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
			"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b";`}}, "needs org.apache.kafka.common.security.scram.ScramLoginModule"},
		{"malformed jaas", ClientConfig{Props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
			"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule username="a";`}}, "control flag"},
		{"idempotent with 5 in flight", ClientConfig{Props: map[string]string{"max.in.flight.requests.per.connection": "5"}}, "1 request in flight"},
		{"auto commit", ClientConfig{Consumer: map[string]string{"enable.auto.commit": "true"}}, "enable.auto.commit=\"true\""},
		{"differing common settings", ClientConfig{Props: map[string]string{"request.timeout.ms": "1000"}, Consumer: map[string]string{"request.timeout.ms": "2000"}}, "the producer and consumer settings differ"},
		{"buffer.memory", ClientConfig{Props: map[string]string{"buffer.memory": "33554432"}}, "buffer.memory=\"33554432\": not supported"},
		{"old TLS", ClientConfig{Props: map[string]string{"ssl.enabled.protocols": "TLSv1.1,TLSv1.2"}}, "must be TLSv1.2 or TLSv1.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cc.SaramaConfig()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
}

// TestClientSASLAndTLS connects to a broker that requires TLS and SCRAM
// (or PLAIN) with the settings a Confluent Cloud or Strimzi user has in
// their worker configuration, produces and reads back a record, and checks
// that a wrong password and a certificate for another host are refused.
func TestClientSASLAndTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, serverCert := testCA(t, "broker.example")
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "alice", "s3cret"), kfake.Superuser("PLAIN", "bob", "pl4in"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	base := map[string]string{"security.protocol": "SASL_SSL", "ssl.truststore.location": ca, "ssl.truststore.type": "PEM",
		// the certificate names broker.example, the broker is dialled at 127.0.0.1
		"ssl.endpoint.identification.algorithm": ""}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	scram := map[string]string{"sasl.mechanism": "SCRAM-SHA-512",
		"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";`}
	plain := map[string]string{"sasl.mechanism": "PLAIN",
		"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="pl4in";`}

	for name, props := range map[string]map[string]string{"scram": with(scram), "plain": with(plain)} {
		t.Run(name, func(t *testing.T) {
			roundTrip(t, brokers, props, nil)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		bad := with(map[string]string{"sasl.mechanism": "SCRAM-SHA-512",
			"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="nope";`})
		roundTrip(t, brokers, bad, func(err error) bool { return err != nil })
	})
	t.Run("host name verified by default", func(t *testing.T) {
		strict := with(scram)
		delete(strict, "ssl.endpoint.identification.algorithm")
		roundTrip(t, brokers, strict, func(err error) bool { return err != nil && strings.Contains(err.Error(), "certificate") })
	})
	t.Run("chain still verified without host name check", func(t *testing.T) {
		other, _ := testCA(t, "other")
		otherCA := filepath.Join(dir, "other.pem")
		if err := os.WriteFile(otherCA, other, 0o600); err != nil {
			t.Fatal(err)
		}
		untrusted := with(scram)
		untrusted["ssl.truststore.location"] = otherCA
		roundTrip(t, brokers, untrusted, func(err error) bool { return err != nil })
	})
}

// roundTrip produces one record and reads it back; failed, when set,
// says which error is expected instead.
func roundTrip(t *testing.T, brokers []string, props map[string]string, failed func(error) bool) {
	t.Helper()
	sc, err := ClientConfig{Brokers: brokers, Props: props}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc.Metadata.Retry.Max = 1
	sc.Producer.Retry.Max = 1
	sc.Net.DialTimeout = 3 * time.Second
	raw, err := NewRaw(brokers, sc)
	if failed != nil {
		if err == nil {
			raw.Close()
		}
		t.Logf("expected failure: %v", err)
		if !failed(err) {
			t.Fatalf("connect error %v is not the expected failure", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := raw.ProducePartition(ctx, "secured", 0, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	got, err := raw.ReadPartition(ctx, "secured", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || string(got[len(got)-1].Value) != "v" {
		t.Fatalf("read back %v", got)
	}
}

// testCA returns a self-signed CA certificate (PEM) and a server
// certificate it signed for host.
func testCA(t *testing.T, host string) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA " + host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
