package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
)

// ToastLookupHeader marks update events for which toast.lookup.mode=select
// read unchanged TOASTed columns back from the table. Its value is
// "selected=<columns>" when the values were read, or "row-absent=<columns>"
// when the row no longer existed (deleted since), in which case those
// columns keep unavailable.value.placeholder.
const ToastLookupHeader = "tributary.toast.lookup"

// lookupToast replaces the unchanged TOASTed cells of an update's new row
// by the values the table holds now, read by primary key on the metadata
// connection (toast.lookup.mode=select), as Debezium's
// ReselectColumnsPostProcessor does. PostgreSQL cannot read a row as of a
// past LSN, so the value is the row's current one: if the column changed
// again since, the event carries the newer value and the later event that
// changed it carries the same, so a consumer applying events in order ends
// with the right value. It returns the header marking the event, or nil
// when nothing was looked up.
func (s *streamer) lookupToast(ctx context.Context, ts *tableSchema, cells []*cell) ([]connect.Header, error) {
	tbl := ts.table
	if !s.t.cfg.toastLookup || tbl.ReplicaIdentity == 'f' || len(tbl.PK) == 0 {
		return nil, nil
	}
	var idx []int
	var names []string
	for i, c := range cells {
		if c != nil && c.unchanged && i < len(tbl.Columns) {
			idx = append(idx, i)
			names = append(names, tbl.Columns[i].Name)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	var where []string
	var args []any
	for _, k := range tbl.PK {
		i, _ := tbl.column(k)
		if i < 0 || i >= len(cells) || cells[i] == nil || cells[i].null || cells[i].unchanged {
			// No usable key value: nothing to look the row up by.
			return nil, nil
		}
		args = append(args, cells[i].text)
		where = append(where, pgx.Identifier{k}.Sanitize()+" = $"+strconv.Itoa(len(args)))
	}
	cols := make([]string, len(names))
	for i, n := range names {
		cols[i] = pgx.Identifier{n}.Sanitize()
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + tbl.ID.quoted() + " WHERE " + strings.Join(where, " AND ")
	// The simple protocol sends the key texts as literals the server
	// coerces to the columns' types, and returns every value in text
	// format: the same text pgoutput would have sent.
	rows, err := s.t.conn.Query(ctx, q, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		return nil, s.toastLookupFailed(tbl, err)
	}
	found := false
	for rows.Next() {
		found = true
		for j, raw := range rows.RawValues() {
			if raw == nil {
				cells[idx[j]] = &cell{null: true}
			} else {
				cells[idx[j]] = &cell{text: string(raw)}
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.toastLookupFailed(tbl, err)
	}
	v := "selected=" + strings.Join(names, ",")
	if !found {
		v = "row-absent=" + strings.Join(names, ",")
	}
	return []connect.Header{{Key: ToastLookupHeader, Schema: connect.Prim(connect.String), Value: v}}, nil
}

// toastLookupFailed fails the task: carrying on would publish the
// placeholder the user asked not to get.
func (s *streamer) toastLookupFailed(tbl *table, err error) error {
	if lost := s.t.metadataLost(err); lost != nil {
		return lost
	}
	return fmt.Errorf("toast.lookup.mode=select: reading unchanged TOASTed columns of %s: %w", tbl.ID, err)
}
