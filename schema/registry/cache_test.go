package registry_test

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/schema/registry"
)

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name string
		size int
		ttl  time.Duration
		// after puts a, b, c (a read back in between) and advancing 30 s
		want map[string]bool
	}{
		{"bounded, least recently used goes", 2, -1, map[string]bool{"a": true, "b": false, "c": true}},
		{"expired after ttl", 10, 20 * time.Second, map[string]bool{"a": false, "b": false, "c": false}},
		{"not yet expired", 10, time.Minute, map[string]bool{"a": true, "b": true, "c": true}},
		{"ttl 0 keeps nothing", 10, 0, map[string]bool{"a": false, "b": false, "c": false}},
		{"size 0 keeps nothing", 0, -1, map[string]bool{"a": false, "b": false, "c": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := registry.NewCache[string, int](tc.size, tc.ttl, clock)
			c.Put("a", 1)
			c.Put("b", 2)
			c.Get("a")
			c.Put("c", 3)
			now = now.Add(30 * time.Second)
			for k, want := range tc.want {
				if _, ok := c.Get(k); ok != want {
					t.Errorf("%s present = %v, want %v", k, ok, want)
				}
			}
		})
	}
}
