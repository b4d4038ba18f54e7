package herder

import (
	"context"
)

// SignalTarget says where a signal for connector (POST
// /connectors/{name}/signals) must be delivered: nil when task 0 of the
// connector runs on this worker, a RequestTargetError naming the worker
// that runs it otherwise. Debezium connectors take signals in their one
// task; like a task restart, the request goes through the leader, which
// knows every task's owner.
func (h *Herder) SignalTarget(_ context.Context, connector string) error {
	cc := h.o.Configs.Snapshot()
	if _, ok := cc.Connectors[connector]; !ok {
		return notFound("Unknown connector: %s", connector)
	}
	id := TaskID{Connector: connector, Task: 0}
	if cc.TaskCounts[connector] == 0 {
		return conflict("Connector %s has no tasks yet to take the signal", connector)
	}
	h.mu.Lock()
	mine := h.owned[workItem(id)]
	leader := h.joined && h.memberID == h.leaderID
	h.mu.Unlock()
	if mine {
		return nil
	}
	if leader {
		return &RequestTargetError{Msg: "Cannot deliver the signal since the connector's task is not assigned to this member", URL: h.ownerURL(workItem(id))}
	}
	return h.requireLeader("Cannot deliver the signal since the connector's task is not assigned to this member")
}
