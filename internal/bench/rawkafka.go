package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// rawKafka measures the Kafka limit of a case: messages of the same mean
// size produced to the same broker by sarama directly, with Tributary's
// producer settings (idempotent, acks=all, one request in flight), first
// through SyncProducer.SendMessages in batches of 1000, then through the
// AsyncProducer. It runs in this process, so its CPU time is comparable
// with Tributary's.
func (e *env) rawKafka(ctx context.Context, trib Result, size int) error {
	if size <= 0 || trib.Events == 0 {
		return nil
	}
	count := int(min(trib.Events, 100000))
	const keySize = 64 // about a Debezium key with its schema; the rest is value
	key := bytes.Repeat([]byte("k"), min(keySize, size/2))
	val := bytes.Repeat([]byte("v"), size-len(key))
	sc, err := e.saramaConfig()
	if err != nil {
		return err
	}
	topic := "raw-sync"
	defer e.deleteTopics(topic, "raw-async")

	m := startMeter()
	sp, err := sarama.NewSyncProducer(e.brokers, sc)
	if err != nil {
		m.end()
		return fmt.Errorf("raw sync producer: %w", err)
	}
	batch := make([]*sarama.ProducerMessage, 0, 1000)
	for sent := 0; sent < count; {
		if ctx.Err() != nil {
			sp.Close()
			return ctx.Err()
		}
		batch = batch[:0]
		for i := 0; i < 1000 && sent < count; i++ {
			batch = append(batch, &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(key), Value: sarama.ByteEncoder(val)})
			sent++
		}
		if err := sp.SendMessages(batch); err != nil {
			sp.Close()
			m.end()
			return fmt.Errorf("raw sync producer: %w", err)
		}
	}
	elapsed, cpu, rss := m.end()
	sp.Close()
	e.addLimit(trib, Result{Name: limitSync, Events: int64(count), Bytes: int64(count * size), Seconds: elapsed.Seconds(),
		CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss), Note: fmt.Sprintf("%d-byte messages", size)})

	topic = "raw-async"
	m = startMeter()
	ap, err := sarama.NewAsyncProducer(e.brokers, sc)
	if err != nil {
		m.end()
		return fmt.Errorf("raw async producer: %w", err)
	}
	acked := make(chan error, 1)
	go func() {
		n := 0
		var firstErr error
		for n < count {
			select {
			case <-ap.Successes():
			case pe := <-ap.Errors():
				if firstErr == nil {
					firstErr = pe.Err
				}
			}
			n++
		}
		acked <- firstErr
	}()
	for i := 0; i < count; i++ {
		select {
		case ap.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(key), Value: sarama.ByteEncoder(val)}:
		case <-ctx.Done():
			ap.Close()
			m.end()
			return ctx.Err()
		}
	}
	var perr error
	select {
	case perr = <-acked:
	case <-time.After(timeoutFor(count)):
		perr = fmt.Errorf("raw async producer: not all %d messages acknowledged", count)
	}
	elapsed, cpu, rss = m.end()
	ap.Close()
	if perr != nil {
		return fmt.Errorf("raw async producer: %w", perr)
	}
	e.addLimit(trib, Result{Name: limitAsync, Events: int64(count), Bytes: int64(count * size), Seconds: elapsed.Seconds(),
		CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss), Note: fmt.Sprintf("%d-byte messages", size)})
	return nil
}
