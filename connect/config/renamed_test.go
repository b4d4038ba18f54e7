package config

import (
	"strings"
	"testing"
)

func TestRenamedAndDeprecated(t *testing.T) {
	d := NewDef().
		Define(Key{Name: "topic.prefix"}).
		Define(Key{Name: "collection.name.format", Aliases: []string{"table.name.format"}}).
		Define(Key{Name: "schema.history.internal.kafka.topic"}).
		AllowPrefix("database.", "schema.history.internal.").
		Renamed("database.server.name", "topic.prefix", "Debezium 2.0").
		RenamedPrefix("database.history.", "schema.history.internal.", "Debezium 2.0")
	for _, tc := range []struct {
		props map[string]string
		err   string // "" accepted
		warn  string
	}{
		{props: map[string]string{"database.server.name": "x"}, err: `database.server.name: renamed topic.prefix in Debezium 2.0`},
		// database. is an allowed prefix, but the renamed name wins.
		{props: map[string]string{"database.history.kafka.topic": "h"}, err: `database.history.kafka.topic: renamed schema.history.internal.kafka.topic in Debezium 2.0`},
		{props: map[string]string{"table.name.format": "t_${topic}"}, warn: "table.name.format is deprecated; use collection.name.format"},
		{props: map[string]string{"table.name.format": "a", "collection.name.format": "b"}, warn: "table.name.format is deprecated and ignored because collection.name.format is set"},
		{props: map[string]string{"collection.name.format": "b"}},
	} {
		v, err := d.Parse(tc.props)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.props, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.props, err)
			continue
		}
		if got := strings.Join(v.Deprecations(), "; "); got != tc.warn {
			t.Errorf("%v: deprecations %q, want %q", tc.props, got, tc.warn)
		}
	}
	v, _ := d.Parse(map[string]string{"table.name.format": "t_${topic}"})
	if got := v.String("collection.name.format"); got != "t_${topic}" {
		t.Errorf("alias value not used: %q", got)
	}
}

func TestRefused(t *testing.T) {
	d := NewDef().Refuse("snapshot.query.mode", "select_all", "only select_all is implemented")
	if _, err := d.Parse(map[string]string{"snapshot.query.mode": "SELECT_ALL"}); err != nil {
		t.Fatalf("the default must be accepted: %v", err)
	}
	_, err := d.Parse(map[string]string{"snapshot.query.mode": "custom"})
	if err == nil || !strings.Contains(err.Error(), `snapshot.query.mode: not supported: only select_all is implemented (only the default select_all is accepted)`) {
		t.Fatalf("error %v", err)
	}
	if !d.Knows("snapshot.query.mode") || d.Knows("nope") {
		t.Fatal("Knows")
	}
}
