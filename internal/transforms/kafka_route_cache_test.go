package transforms

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// RegexRouter caches its outcome per topic: the cached answers must be
// the computed ones, for matching and non-matching topics, from many
// goroutines at once, and past the cache's bound.
func TestRegexRouterRouteCache(t *testing.T) {
	r := newT(t, kafkaPkg+"RegexRouter", map[string]string{"regex": `dbserver1\.inventory\.(.*)`, "replacement": "$1"}).(*RegexRouter)
	want := func(topic string) string {
		if n, err := fmt.Sscanf(topic, "dbserver1.inventory.t%d", new(int)); n == 1 && err == nil {
			return topic[len("dbserver1.inventory."):]
		}
		return topic
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3*maxRoutes; i++ {
				topic := fmt.Sprintf("dbserver1.inventory.t%d", i%(2*maxRoutes))
				if i%3 == 0 {
					topic = fmt.Sprintf("other.t%d", i)
				}
				in := &connect.Record{Topic: topic, Value: "v"}
				out, err := r.Apply(in)
				if err != nil {
					t.Error(err)
					return
				}
				if out.Topic != want(topic) {
					t.Errorf("%s routed to %s, want %s", topic, out.Topic, want(topic))
					return
				}
				if (out == in) != (out.Topic == topic) || in.Topic != topic {
					t.Errorf("%s: the input record was changed, or copied without a new topic", topic)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := len(*r.routes.Load()); n > maxRoutes {
		t.Errorf("%d topics cached, want at most %d", n, maxRoutes)
	}
}
