package herder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/IBM/sarama"
)

// KafkaSinkOffsets serves the offsets endpoints for sink connectors from
// their consumer group (connect-<name>), in Kafka Connect's format:
// partition {"kafka_topic","kafka_partition"}, offset {"kafka_offset"}.
type KafkaSinkOffsets struct {
	Client sarama.Client
}

func sinkGroup(connector string) string { return "connect-" + connector }

func (s *KafkaSinkOffsets) admin() (sarama.ClusterAdmin, error) {
	// Not closed: closing an admin made from a client closes the client.
	return sarama.NewClusterAdminFromClient(s.Client)
}

// List returns the consumer group's committed offsets.
func (s *KafkaSinkOffsets) List(_ context.Context, connector string, _ map[string]string) ([]ConnectorOffset, error) {
	admin, err := s.admin()
	if err != nil {
		return nil, err
	}
	resp, err := admin.ListConsumerGroupOffsets(sinkGroup(connector), nil)
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return nil, nil
	}
	if err == nil && resp.Err != sarama.ErrNoError {
		if resp.Err == sarama.ErrGroupIDNotFound {
			return nil, nil
		}
		err = resp.Err
	}
	if err != nil {
		return nil, &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to retrieve consumer group offsets for sink connector %s: %v", connector, err)}
	}
	var out []ConnectorOffset
	for topic, parts := range resp.Blocks {
		for p, b := range parts {
			if b.Err != sarama.ErrNoError {
				return nil, &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to retrieve consumer group offsets for sink connector %s: %v", connector, b.Err)}
			}
			if b.Offset < 0 {
				continue
			}
			out = append(out, ConnectorOffset{Partition: map[string]any{"kafka_topic": topic, "kafka_partition": int64(p)},
				Offset: map[string]any{"kafka_offset": b.Offset}})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Partition, out[j].Partition
		if a["kafka_topic"] != b["kafka_topic"] {
			return a["kafka_topic"].(string) < b["kafka_topic"].(string)
		}
		return a["kafka_partition"].(int64) < b["kafka_partition"].(int64)
	})
	return out, nil
}

// Alter commits (or, for null offsets, deletes) consumer group offsets.
func (s *KafkaSinkOffsets) Alter(_ context.Context, connector string, _ map[string]string, offs []ConnectorOffset) error {
	commit := map[string]map[int32]sarama.OffsetAndMetadata{}
	type tp struct {
		topic string
		part  int32
	}
	var remove []tp
	for _, o := range offs {
		if o.Partition == nil {
			return badRequest("The partition for a sink connector offset cannot be null or missing")
		}
		t, hasT := o.Partition["kafka_topic"]
		p, hasP := o.Partition["kafka_partition"]
		if !hasT || !hasP {
			return badRequest("The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'")
		}
		if t == nil {
			return badRequest("Kafka topic names must be valid strings and may not be null")
		}
		if p == nil {
			return badRequest("Kafka partitions must be valid numbers and may not be null")
		}
		topic := fmt.Sprint(t)
		part, err := strconv.ParseInt(fmt.Sprint(p), 10, 32)
		if err != nil {
			return badRequest("Failed to parse the following Kafka partition value in the provided offsets: '%v'. Partition values for sink connectors need to be integers.", p)
		}
		if o.Offset == nil {
			remove = append(remove, tp{topic, int32(part)})
			continue
		}
		v, ok := o.Offset["kafka_offset"]
		if !ok {
			return badRequest("The offset for a sink connector should either be null or contain the key 'kafka_offset'")
		}
		off, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err != nil {
			return badRequest("Failed to parse the following Kafka offset value in the provided offsets: '%v'. Offset values for sink connectors need to be integers.", v)
		}
		if commit[topic] == nil {
			commit[topic] = map[int32]sarama.OffsetAndMetadata{}
		}
		commit[topic][int32(part)] = sarama.OffsetAndMetadata{Offset: off}
	}
	admin, err := s.admin()
	if err != nil {
		return err
	}
	if len(commit) > 0 {
		resp, err := admin.AlterConsumerGroupOffsets(sinkGroup(connector), commit, nil)
		if err == nil {
			for _, parts := range resp.Errors {
				for _, kerr := range parts {
					if kerr != sarama.ErrNoError && err == nil {
						err = kerr
					}
				}
			}
		}
		if err != nil {
			return &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to alter consumer group offsets for connector %s: %v", connector, err)}
		}
	}
	for _, r := range remove {
		if err := admin.DeleteConsumerGroupOffset(sinkGroup(connector), r.topic, r.part); err != nil && err != sarama.ErrUnknownTopicOrPartition {
			return &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to alter consumer group offsets for connector %s: %v", connector, err)}
		}
	}
	return nil
}

// Reset deletes the consumer group.
func (s *KafkaSinkOffsets) Reset(_ context.Context, connector string, _ map[string]string) error {
	admin, err := s.admin()
	if err != nil {
		return err
	}
	if err := admin.DeleteConsumerGroup(sinkGroup(connector)); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
		return &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to reset consumer group offsets for sink connector %s: %v", connector, err)}
	}
	return nil
}
