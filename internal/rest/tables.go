package rest

import (
	"context"
	"net/http"
)

// tableResumer is a Herder whose tasks park tables: a source's table
// whose new schema the registry refused, a sink's topic-partition whose
// schema change the target cannot apply (herder.Herder.ResumeTable).
type tableResumer interface {
	ResumeTable(ctx context.Context, connector, table string) error
}

// resumeTable is POST /connectors/{name}/tables/{table}/resume, Tributary's
// addition: the task retries the held records of a table in
// PAUSED_SCHEMA, in order, once the registry, the schema or the sink's
// target is fixed; the outcome shows in GET /connectors/{name}/status
// (tasks[].tables). For a sink, {table} is the target table, a topic or
// "<topic>-<partition>".
func (a *api) resumeTable(q *request) error {
	tr, ok := a.o.Herder.(tableResumer)
	if !ok {
		return errorf(http.StatusNotFound, "Connector %s has no parked tables", q.segs[1])
	}
	if err := tr.ResumeTable(q.ctx, q.segs[1], q.segs[3]); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusAccepted)
	return nil
}
