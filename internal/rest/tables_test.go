package rest

import (
	"strings"
	"testing"
)

// TestResumeTableRoute: the route reaches the task's parking through the
// herder and the runner. A running source task with no parked table
// answers 404 naming the table, and its status lists no tables; the
// resume of a parked table itself is proven in internal/runtime
// (TestParkingIncompatibleSchema).
func TestResumeTableRoute(t *testing.T) {
	w := startWorker(t, workerOpts{})
	if r := w.call(t, "POST", "/connectors", counterConfig("cnt", "cnt-topic")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	st := w.waitStatus(t, "cnt", "RUNNING", "RUNNING")
	if len(st.Tasks[0].Tables) != 0 {
		t.Errorf("status lists parked tables %+v", st.Tasks[0].Tables)
	}
	r := w.call(t, "POST", "/connectors/cnt/tables/db.public.t3/resume", "")
	if r.status != 404 || !strings.Contains(string(r.body), "db.public.t3") || !strings.Contains(string(r.body), "not parked") {
		t.Errorf("resume of a table that is not parked: %d %s", r.status, r.body)
	}
	if r := w.call(t, "POST", "/connectors/nobody/tables/x/resume", ""); r.status != 404 {
		t.Errorf("resume for an unknown connector: %d %s", r.status, r.body)
	}
}
