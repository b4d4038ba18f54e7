package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"
)

// TopicGroup is one of Kafka Connect's topic.creation groups: topics
// matching Include and not Exclude are created with these settings.
type TopicGroup struct {
	Name              string
	Include, Exclude  []*regexp.Regexp
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]*string
}

// TopicCreator creates topics before a source first writes to them,
// following Kafka Connect's topic.creation.* connector properties (KIP-158).
// Without topic.creation.default.* it leaves creation to the broker.
type TopicCreator struct {
	admin  sarama.ClusterAdmin
	groups []TopicGroup // "default" last
	mu     sync.Mutex
	known  map[string]bool
}

// TopicCreationFromProps parses topic.creation.* connector properties
// (prefix already stripped: "default.partitions", "groups", "g1.include"...).
// It returns nil groups when topic creation is not configured.
func TopicCreationFromProps(p map[string]string) ([]TopicGroup, error) {
	if _, ok := p["default.partitions"]; !ok {
		if _, ok := p["default.replication.factor"]; !ok {
			return nil, nil
		}
	}
	parse := func(name string) (TopicGroup, error) {
		g := TopicGroup{Name: name, Partitions: -1, ReplicationFactor: -1, Configs: map[string]*string{}}
		pre := name + "."
		for k, v := range p {
			if !strings.HasPrefix(k, pre) {
				continue
			}
			key := strings.TrimPrefix(k, pre)
			switch key {
			case "partitions":
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || (n < 1 && n != -1) {
					return g, fmt.Errorf("topic.creation.%s: must be a positive integer or -1", k)
				}
				g.Partitions = int32(n)
			case "replication.factor":
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || (n < 1 && n != -1) {
					return g, fmt.Errorf("topic.creation.%s: must be a positive integer or -1", k)
				}
				g.ReplicationFactor = int16(n)
			case "include", "exclude":
				for _, pat := range strings.Split(v, ",") {
					if pat = strings.TrimSpace(pat); pat == "" {
						continue
					}
					re, err := regexp.Compile("^(?:" + pat + ")$")
					if err != nil {
						return g, fmt.Errorf("topic.creation.%s: invalid regular expression %q: %w", k, pat, err)
					}
					if key == "include" {
						g.Include = append(g.Include, re)
					} else {
						g.Exclude = append(g.Exclude, re)
					}
				}
			default:
				val := v
				g.Configs[key] = &val
			}
		}
		return g, nil
	}
	var groups []TopicGroup
	for _, name := range strings.Split(p["groups"], ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		g, err := parse(name)
		if err != nil {
			return nil, err
		}
		if len(g.Include) == 0 {
			return nil, fmt.Errorf("topic.creation.%s.include: required for topic creation group %q", name, name)
		}
		groups = append(groups, g)
	}
	def, err := parse("default")
	if err != nil {
		return nil, err
	}
	if _, ok := p["default.partitions"]; !ok {
		return nil, errors.New("topic.creation.default.partitions: required when topic.creation.default.replication.factor is set")
	}
	if _, ok := p["default.replication.factor"]; !ok {
		return nil, errors.New("topic.creation.default.replication.factor: required when topic.creation.default.partitions is set")
	}
	return append(groups, def), nil
}

// NewTopicCreator returns a creator using client; groups may be nil (then
// Ensure only records topics as known).
func NewTopicCreator(client sarama.Client, groups []TopicGroup) (*TopicCreator, error) {
	tc := &TopicCreator{groups: groups, known: map[string]bool{}}
	if len(groups) > 0 {
		admin, err := sarama.NewClusterAdminFromClient(client)
		if err != nil {
			return nil, fmt.Errorf("kafka admin client: %w", err)
		}
		tc.admin = admin
	}
	return tc, nil
}

// Ensure creates topic if topic creation applies and it does not exist.
func (tc *TopicCreator) Ensure(ctx context.Context, topic string) error {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.known[topic] || tc.admin == nil {
		return nil
	}
	g := tc.groupFor(topic)
	detail := &sarama.TopicDetail{NumPartitions: g.Partitions, ReplicationFactor: g.ReplicationFactor, ConfigEntries: g.Configs}
	err := tc.admin.CreateTopic(topic, detail, false)
	var te *sarama.TopicError
	if err != nil && !(errors.As(err, &te) && te.Err == sarama.ErrTopicAlreadyExists) && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating topic %s (group %s): %w", topic, g.Name, err)
	}
	tc.known[topic] = true
	return nil
}

func (tc *TopicCreator) groupFor(topic string) TopicGroup {
	for _, g := range tc.groups[:len(tc.groups)-1] {
		if matchAny(g.Include, topic) && !matchAny(g.Exclude, topic) {
			return g
		}
	}
	return tc.groups[len(tc.groups)-1]
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// CreateCompacted creates a single-partition compacted topic if missing,
// for internal topics (schema history, offsets, configs).
func CreateCompacted(client sarama.Client, topic string, partitions int32, compact bool) error {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin client: %w", err)
	}
	// Closing the admin would close the shared client.
	cfg := map[string]*string{}
	if compact {
		c := "compact"
		cfg["cleanup.policy"] = &c
	} else {
		d := "delete"
		r := "-1"
		cfg["cleanup.policy"] = &d
		cfg["retention.ms"] = &r
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: -1, ConfigEntries: cfg}, false)
	var te *sarama.TopicError
	if err != nil && !(errors.As(err, &te) && te.Err == sarama.ErrTopicAlreadyExists) && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	return nil
}
