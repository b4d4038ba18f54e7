package herder

import (
	"sort"
	"time"
)

// workItem is a connector instance (Task == connectorTaskMarker) or a task.
type workItem struct {
	Connector string
	Task      int
}

func (w workItem) isConnector() bool { return w.Task == connectorTaskMarker }

type workSet map[workItem]bool

func workItems(w Work) []workItem {
	out := make([]workItem, 0, w.size())
	for _, c := range w.Connectors {
		out = append(out, workItem{c, connectorTaskMarker})
	}
	for _, t := range w.Tasks {
		out = append(out, workItem(t))
	}
	return out
}

func (s workSet) work() Work {
	var w Work
	for it := range s {
		if it.isConnector() {
			w.Connectors = append(w.Connectors, it.Connector)
		} else {
			w.Tasks = append(w.Tasks, TaskID(it))
		}
	}
	sort.Strings(w.Connectors)
	sort.Slice(w.Tasks, func(i, j int) bool {
		if w.Tasks[i].Connector != w.Tasks[j].Connector {
			return w.Tasks[i].Connector < w.Tasks[j].Connector
		}
		return w.Tasks[i].Task < w.Tasks[j].Task
	})
	return w
}

func sortedItems(s workSet) []workItem {
	out := make([]workItem, 0, len(s))
	for it := range s {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Connector != out[j].Connector {
			return out[i].Connector < out[j].Connector
		}
		return out[i].Task < out[j].Task
	})
	return out
}

// configuredWork is every connector and committed task of a snapshot.
func configuredWork(cc *ClusterConfig) workSet {
	s := workSet{}
	for name := range cc.Connectors {
		s[workItem{name, connectorTaskMarker}] = true
		for _, t := range cc.Tasks(name) {
			s[workItem(t)] = true
		}
	}
	return s
}

type groupMemberMeta struct {
	ID   string
	Meta WorkerMetadata
}

// assignor is the leader's IncrementalCooperativeAssignor: members keep
// what they run; new and released work goes to the least loaded member;
// work of a departed member is held back for the scheduled rebalance delay
// in case it returns (a rolling restart), then reassigned; an unbalanced
// group is evened out by revoking surplus work, which the next round hands
// to the others. Only changed assignments stop or start anything.
type assignor struct {
	maxDelay time.Duration
	now      func() time.Time

	// State from this leader's previous round; reset when leadership moves.
	prev        map[string]workSet // member -> work it owns after the round
	prevURL     map[string]string
	delayed     workSet
	deadline    time.Time
	revokedLast bool
}

func newAssignor(maxDelay time.Duration) *assignor {
	return &assignor{maxDelay: maxDelay, now: time.Now}
}

// reset forgets previous rounds (another member led in between).
func (a *assignor) reset() {
	a.prev, a.prevURL, a.delayed, a.deadline, a.revokedLast = nil, nil, nil, time.Time{}, false
}

func (a *assignor) assign(leaderID, leaderURL string, members []groupMemberMeta, cc *ClusterConfig) map[string]Assignment {
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	configured := configuredWork(cc)
	present := map[string]bool{}
	claimed := map[workItem]string{}
	owned := map[string]workSet{}
	revoked := map[string]workSet{}
	for _, m := range members {
		present[m.ID] = true
		owned[m.ID] = workSet{}
		revoked[m.ID] = workSet{}
		for _, it := range workItems(m.Meta.Owned) {
			switch {
			case !configured[it]:
				revoked[m.ID][it] = true // deleted, or task count shrank
			case claimed[it] != "":
				revoked[m.ID][it] = true // two members claim it; keep one
			default:
				claimed[it] = m.ID
				owned[m.ID][it] = true
			}
		}
	}

	// Work whose owner left the group.
	lost := workSet{}
	for m, s := range a.prev {
		if present[m] {
			continue
		}
		for it := range s {
			if configured[it] && claimed[it] == "" {
				lost[it] = true
			}
		}
	}
	for it := range a.delayed {
		if configured[it] && claimed[it] == "" {
			lost[it] = true
		}
	}
	var delay time.Duration
	a.delayed = nil
	if len(lost) > 0 {
		if a.deadline.IsZero() {
			a.deadline = a.now().Add(a.maxDelay)
		}
		if remaining := a.deadline.Sub(a.now()); remaining > 0 {
			a.delayed = lost
			delay = remaining
		} else {
			a.deadline = time.Time{}
		}
	} else {
		a.deadline = time.Time{}
	}

	// Everything configured that nobody runs (and is not held back).
	unassigned := workSet{}
	for it := range configured {
		if claimed[it] == "" && !a.delayed[it] {
			unassigned[it] = true
		}
	}
	assigned := map[string]workSet{}
	for _, m := range members {
		assigned[m.ID] = workSet{}
	}
	load := func(m string, conn bool) int {
		n := 0
		for it := range owned[m] {
			if it.isConnector() == conn {
				n++
			}
		}
		for it := range assigned[m] {
			if it.isConnector() == conn {
				n++
			}
		}
		return n
	}
	for _, it := range sortedItems(unassigned) {
		best := ""
		for _, m := range members {
			if best == "" || load(m.ID, it.isConnector()) < load(best, it.isConnector()) {
				best = m.ID
			}
		}
		if best != "" {
			assigned[best][it] = true
		}
	}

	// Even out: only after a round without revocations and while no
	// departed worker's work is held back, as Kafka Connect does, so that
	// revocations never chase each other.
	anyRevoked := false
	for _, s := range revoked {
		if len(s) > 0 {
			anyRevoked = true
		}
	}
	if !anyRevoked && !a.revokedLast && len(a.delayed) == 0 && len(members) > 1 {
		for _, conn := range []bool{true, false} {
			total := 0
			for _, m := range members {
				total += load(m.ID, conn)
			}
			order := make([]string, len(members))
			for i, m := range members {
				order[i] = m.ID
			}
			sort.SliceStable(order, func(i, j int) bool { return load(order[i], conn) > load(order[j], conn) })
			floor, extra := total/len(members), total%len(members)
			for i, m := range order {
				allowed := floor
				if i < extra {
					allowed++
				}
				surplus := load(m, conn) - allowed
				if surplus <= 0 {
					continue
				}
				// Give up owned work (never what was just assigned), highest
				// first so the choice is deterministic.
				items := sortedItems(owned[m])
				for k := len(items) - 1; k >= 0 && surplus > 0; k-- {
					it := items[k]
					if it.isConnector() != conn {
						continue
					}
					delete(owned[m], it)
					revoked[m][it] = true
					surplus--
					anyRevoked = true
				}
			}
		}
	}
	a.revokedLast = anyRevoked

	a.prev = map[string]workSet{}
	a.prevURL = map[string]string{}
	out := map[string]Assignment{}
	for _, m := range members {
		s := workSet{}
		for it := range owned[m.ID] {
			s[it] = true
		}
		for it := range assigned[m.ID] {
			s[it] = true
		}
		a.prev[m.ID] = s
		a.prevURL[m.ID] = m.Meta.URL
		out[m.ID] = Assignment{Leader: leaderID, LeaderURL: leaderURL, ConfigOffset: cc.Offset,
			Assigned: assigned[m.ID].work(), Revoked: revoked[m.ID].work(), Delay: int32((delay + time.Millisecond - 1) / time.Millisecond)}
	}
	return out
}
