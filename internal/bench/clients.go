package bench

import (
	"bytes"
	"context"
	"fmt"
	goruntime "runtime"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaClients compares the cost of the two Go Kafka clients alone:
// N/2 keyed ~4 KB records (a Debezium JSON event with its schemas), then
// as many 128-byte ones (an Avro event),
// produced to the broker child by sarama's AsyncProducer, configured as
// the source producer is (kafka.ClientConfig.SaramaConfig: idempotent,
// acks=all), and by franz-go's kgo with the same settings, in alternating
// rounds. Reported per record: this process's CPU and allocations.
const KafkaClients = "kafka-clients"

func (e *env) kafkaClients(ctx context.Context) error {
	for _, size := range []int{4096, 128} {
		if err := e.kafkaClientsSize(ctx, size); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) kafkaClientsSize(ctx context.Context, size int) error {
	count := max(e.cfg.Rows/2, 1)
	val := bytes.Repeat([]byte("v"), size-64)
	for round := 1; round <= 2; round++ {
		for _, c := range []struct {
			name string
			run  func(context.Context, string, int, []byte) error
		}{{"sarama AsyncProducer", e.clientsSarama}, {"franz-go kgo", e.clientsKgo}} {
			topic := fmt.Sprintf("bench-clients-%d-%d-%d", size, round, len(c.name))
			var ms0, ms1 goruntime.MemStats
			m := startMeter()
			goruntime.ReadMemStats(&ms0)
			err := c.run(ctx, topic, count, val)
			goruntime.ReadMemStats(&ms1)
			elapsed, cpu, rss := m.end()
			e.deleteTopics(topic)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			n := float64(count)
			e.add(Result{Scenario: KafkaClients, Case: fmt.Sprintf("round %d, %d-byte records", round, size), Name: c.name,
				Events: int64(count), Bytes: int64(count * size), Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
				Note: fmt.Sprintf("%.2f µs CPU, %.1f allocs, %.0f B allocated per record", cpu*1e6/n,
					float64(ms1.Mallocs-ms0.Mallocs)/n, float64(ms1.TotalAlloc-ms0.TotalAlloc)/n)})
		}
	}
	return nil
}

// clientsKey is a distinct key per record, about a Debezium key's size.
func clientsKey(i int) []byte {
	k := make([]byte, 0, 64)
	k = append(k, `{"schema":{"type":"struct","fields":[]},"payload":{"id":`...)
	return append(strconv.AppendInt(k, int64(i), 10), "}}"...)
}

func (e *env) clientsSarama(ctx context.Context, topic string, count int, val []byte) error {
	sc, err := e.saramaConfig()
	if err != nil {
		return err
	}
	ap, err := sarama.NewAsyncProducer(e.brokers, sc)
	if err != nil {
		return err
	}
	acked := make(chan error, 1)
	go func() {
		var firstErr error
		for n := 0; n < count; n++ {
			select {
			case <-ap.Successes():
			case pe := <-ap.Errors():
				if firstErr == nil {
					firstErr = pe.Err
				}
			}
		}
		acked <- firstErr
	}()
	for i := 0; i < count; i++ {
		select {
		case ap.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(clientsKey(i)), Value: sarama.ByteEncoder(val)}:
		case <-ctx.Done():
			ap.Close()
			return ctx.Err()
		}
	}
	select {
	case err = <-acked:
	case <-time.After(timeoutFor(count)):
		err = fmt.Errorf("not all %d records acknowledged", count)
	}
	ap.Close()
	return err
}

func (e *env) clientsKgo(ctx context.Context, topic string, count int, val []byte) error {
	// The source producer's settings (SaramaConfig): idempotent, acks=all,
	// 5 ms linger, 1 MiB batches, no compression, 4096 records buffered.
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ClientID("tributary-bench"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(4096),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.AllowAutoTopicCreation())
	if err != nil {
		return err
	}
	defer cl.Close()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	for i := 0; i < count; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: clientsKey(i), Value: val}, promise)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeoutFor(count)):
		return fmt.Errorf("not all %d records acknowledged", count)
	}
	mu.Lock()
	defer mu.Unlock()
	return firstErr
}
