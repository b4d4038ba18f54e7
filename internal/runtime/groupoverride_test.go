package runtime

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// TestConsumerGroupOverride: a sink connector may name its consumer group
// (consumer.override.group.id, as Kafka Connect under the default
// override policy All); the group is the sink runner's, not a client
// setting, so building the connector's client configuration accepts it.
// Elsewhere group.id stays refused.
func TestConsumerGroupOverride(t *testing.T) {
	cases := []struct {
		name    string
		typ     connect.PluginType
		props   map[string]string
		wantErr string // property named in the error, "" for none
	}{
		{"sink names its group", connect.SinkPlugin, map[string]string{"consumer.override.group.id": "legacy-group"}, ""},
		{"sink group empty", connect.SinkPlugin, map[string]string{"consumer.override.group.id": " "}, "consumer.override.group.id"},
		{"source has no consumer group", connect.SourcePlugin, map[string]string{"consumer.override.group.id": "g"}, "consumer.override.group.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := checkClientOverrides(tc.props, tc.typ)
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Fatalf("unexpected error: %v", errs)
			case tc.wantErr != "" && (len(errs) == 0 || errs[0].Name != tc.wantErr):
				t.Fatalf("errors %v, want one naming %s", errs, tc.wantErr)
			}
			if tc.wantErr == "" {
				if _, err := ClientSaramaConfig(map[string]string{}, tc.props, []string{"127.0.0.1:9092"}); err != nil {
					t.Fatalf("client configuration: %v", err)
				}
			}
		})
	}
	// A worker's own consumer.group.id is still refused: Kafka Connect
	// overwrites it with connect-<name>.
	if _, err := ClientSaramaConfig(map[string]string{"consumer.group.id": "g"}, nil, []string{"127.0.0.1:9092"}); err == nil || !strings.Contains(err.Error(), "group.id") {
		t.Errorf("worker consumer.group.id accepted (err %v), want it refused", err)
	}
}
