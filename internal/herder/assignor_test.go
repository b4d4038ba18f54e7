package herder

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// cluster builds a config snapshot with one task per connector.
func cluster(names ...string) *ClusterConfig {
	cc := newClusterConfig()
	cc.Offset = 10
	for _, n := range names {
		cc.Connectors[n] = map[string]string{"connector.class": "x"}
		cc.TaskCounts[n] = 1
		cc.TaskConfigs[TaskID{n, 0}] = map[string]string{}
	}
	return cc
}

func owns(items ...string) Work {
	var w Work
	for _, it := range items {
		var c string
		var n int
		if _, err := fmt.Sscanf(it, "task:%s", &c); err == nil {
			fmt.Sscanf(c[len(c)-1:], "%d", &n)
			w.Tasks = append(w.Tasks, TaskID{c[:len(c)-2], n})
		} else {
			w.Connectors = append(w.Connectors, it)
		}
	}
	return w
}

func member(id string, items ...string) groupMemberMeta {
	return groupMemberMeta{ID: id, Meta: WorkerMetadata{URL: "http://" + id + "/", Owned: owns(items...)}}
}

func describe(w Work) string {
	s := workSet{}
	for _, it := range workItems(w) {
		s[it] = true
	}
	var out []string
	for _, it := range sortedItems(s) {
		if it.isConnector() {
			out = append(out, it.Connector)
		} else {
			out = append(out, fmt.Sprintf("task:%s-%d", it.Connector, it.Task))
		}
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// apply plays an assignment round into the members' next metadata.
func apply(members []groupMemberMeta, as map[string]Assignment) []groupMemberMeta {
	out := make([]groupMemberMeta, len(members))
	for i, m := range members {
		s := workSet{}
		for _, it := range workItems(m.Meta.Owned) {
			s[it] = true
		}
		for _, it := range workItems(as[m.ID].Revoked) {
			delete(s, it)
		}
		for _, it := range workItems(as[m.ID].Assigned) {
			s[it] = true
		}
		out[i] = groupMemberMeta{ID: m.ID, Meta: WorkerMetadata{URL: m.Meta.URL, Owned: s.work()}}
	}
	return out
}

func counts(members []groupMemberMeta) map[string][2]int {
	out := map[string][2]int{}
	for _, m := range members {
		out[m.ID] = [2]int{len(m.Meta.Owned.Connectors), len(m.Meta.Owned.Tasks)}
	}
	return out
}

func TestAssignorSpreadsNewWork(t *testing.T) {
	a := newAssignor(time.Minute)
	ms := []groupMemberMeta{member("m1"), member("m2")}
	as := a.assign("m1", "http://m1/", ms, cluster("a", "b", "c"))
	if as["m1"].ConfigOffset != 10 || as["m2"].Leader != "m1" || as["m2"].LeaderURL != "http://m1/" {
		t.Fatalf("assignment header %+v", as["m2"])
	}
	ms = apply(ms, as)
	c := counts(ms)
	if c["m1"][0]+c["m2"][0] != 3 || c["m1"][1]+c["m2"][1] != 3 || abs(c["m1"][0]-c["m2"][0]) > 1 || abs(c["m1"][1]-c["m2"][1]) > 1 {
		t.Fatalf("unbalanced: %v", c)
	}
	// A stable group gets an empty incremental assignment.
	as = a.assign("m1", "http://m1/", ms, cluster("a", "b", "c"))
	for id, x := range as {
		if !x.Assigned.empty() || !x.Revoked.empty() || x.Delay != 0 {
			t.Fatalf("%s: unexpected change %+v", id, x)
		}
	}
}

func TestAssignorRebalancesTowardsNewMember(t *testing.T) {
	a := newAssignor(time.Minute)
	cc := cluster("a", "b", "c", "d")
	ms := []groupMemberMeta{member("m1", "a", "b", "c", "d", "task:a-0", "task:b-0", "task:c-0", "task:d-0"), member("m2")}
	as := a.assign("m1", "", ms, cc)
	if !as["m2"].Assigned.empty() {
		t.Fatalf("m2 got work before m1 released it: %s", describe(as["m2"].Assigned))
	}
	if len(as["m1"].Revoked.Connectors) != 2 || len(as["m1"].Revoked.Tasks) != 2 {
		t.Fatalf("m1 should give up half: %s", describe(as["m1"].Revoked))
	}
	released := describe(as["m1"].Revoked)
	ms = apply(ms, as)
	// m1 stopped what it gave up and rejoined: the released work goes to m2.
	as = a.assign("m1", "", ms, cc)
	if got := describe(as["m2"].Assigned); got != released || !as["m1"].Assigned.empty() || !as["m1"].Revoked.empty() {
		t.Fatalf("m2 assigned %s, want %s (m1: %+v)", got, released, as["m1"])
	}
	ms = apply(ms, as)
	if c := counts(ms); c["m1"] != [2]int{2, 2} || c["m2"] != [2]int{2, 2} {
		t.Fatalf("counts %v", c)
	}
}

func TestAssignorHoldsDepartedWorkersWorkForTheDelay(t *testing.T) {
	now := time.Unix(1000, 0)
	a := newAssignor(5 * time.Second)
	a.now = func() time.Time { return now }
	cc := cluster("a", "b")
	ms := []groupMemberMeta{member("m1"), member("m2")}
	ms = apply(ms, a.assign("m1", "", ms, cc))
	lostWork := ms[1].Meta.Owned
	if lostWork.empty() {
		t.Fatal("m2 got nothing")
	}
	// m2 dies.
	ms = ms[:1]
	as := a.assign("m1", "", ms, cc)
	if !as["m1"].Assigned.empty() || as["m1"].Delay != 5000 {
		t.Fatalf("lost work reassigned at once: %+v", as["m1"])
	}
	now = now.Add(3 * time.Second)
	as = a.assign("m1", "", ms, cc)
	if !as["m1"].Assigned.empty() || as["m1"].Delay != 2000 {
		t.Fatalf("after 3s: %+v", as["m1"])
	}
	now = now.Add(2 * time.Second)
	as = a.assign("m1", "", ms, cc)
	if describe(as["m1"].Assigned) != describe(lostWork) || as["m1"].Delay != 0 {
		t.Fatalf("after the delay m1 got %s, want %s", describe(as["m1"].Assigned), describe(lostWork))
	}
}

func TestAssignorRevokesDeletedAndDuplicateWork(t *testing.T) {
	a := newAssignor(time.Minute)
	ms := []groupMemberMeta{member("m1", "a", "task:a-0", "gone", "task:gone-0"), member("m2", "a", "task:b-0")}
	as := a.assign("m1", "", ms, cluster("a", "b"))
	if got := describe(as["m1"].Revoked); got != "[gone task:gone-0]" {
		t.Fatalf("m1 revoked %s", got)
	}
	if got := describe(as["m2"].Revoked); got != "[a]" {
		t.Fatalf("m2 revoked %s", got)
	}
	if got := describe(as["m1"].Assigned) + describe(as["m2"].Assigned); got != "[b][]" && got != "[][b]" {
		t.Fatalf("connector b assigned %s", got)
	}
}

func TestAssignorNewLeaderAssignsUnownedWorkAtOnce(t *testing.T) {
	a := newAssignor(time.Minute)
	// A new leader has no memory of who ran what: work nobody claims is
	// assigned without waiting.
	ms := []groupMemberMeta{member("m3", "a", "task:a-0")}
	as := a.assign("m3", "", ms, cluster("a", "b"))
	if got := describe(as["m3"].Assigned); got != "[b task:b-0]" || as["m3"].Delay != 0 {
		t.Fatalf("assigned %s delay %d", got, as["m3"].Delay)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
