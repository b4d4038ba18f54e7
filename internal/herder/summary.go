package herder

import (
	"context"

	"github.com/tributary-io/tributary/internal/metrics"
)

// StatusSummary reports every configured connector's status and task
// state counts, for the worker metrics.
func (h *Herder) StatusSummary() []metrics.ConnectorSummary {
	cc := h.o.Configs.Snapshot()
	out := make([]metrics.ConnectorSummary, 0, len(cc.Connectors))
	for _, name := range cc.Names() {
		s := metrics.ConnectorSummary{Name: name, Type: h.typeOf(cc.Connectors[name]), State: string(StateUnassigned), Tasks: map[string]int{}}
		if st, ok := h.o.Status.Connector(name); ok {
			s.State = string(st.State)
		}
		n := 0
		for id, st := range h.o.Status.Tasks(name) {
			if id < cc.TaskCounts[name] {
				s.Tasks[string(st.State)]++
				n++
			}
		}
		if missing := len(cc.Tasks(name)) - n; missing > 0 {
			s.Tasks[string(StateUnassigned)] += missing
		}
		out = append(out, s)
	}
	return out
}

// WaitJoined waits until this worker has received its first assignment
// and, when leader is true, until it leads the group.
func (h *Herder) WaitJoined(ctx context.Context, leader bool) error {
	for {
		h.mu.Lock()
		ok := h.joined && (!leader || h.memberID == h.leaderID)
		changed := h.assignedC
		h.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
