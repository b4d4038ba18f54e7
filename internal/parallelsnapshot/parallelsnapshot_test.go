package parallelsnapshot

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// tableRecords reads table i as n records "i/0".."i/n-1" in batches of 3.
func tableRecords(n int, failAt int) func(reader int, w connect.RecordWriter) TableReader {
	return func(_ int, w connect.RecordWriter) TableReader {
		return func(ctx context.Context, table int) error {
			if table == failAt {
				return fmt.Errorf("table %d unreadable", table)
			}
			var batch []*connect.Record
			for j := range n {
				batch = append(batch, &connect.Record{Topic: fmt.Sprint(table), Value: j})
				if len(batch) == 3 || j == n-1 {
					if err := w.Write(ctx, batch); err != nil {
						return err
					}
					batch = nil
				}
			}
			return nil
		}
	}
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name            string
		readers, tables int
		failAt          int
		emitFailAt      int
		wantErr         string
	}{
		{name: "one reader", readers: 1, tables: 5, failAt: -1, emitFailAt: -1},
		{name: "more readers than tables", readers: 8, tables: 3, failAt: -1, emitFailAt: -1},
		{name: "four readers", readers: 4, tables: 40, failAt: -1, emitFailAt: -1},
		{name: "a reader fails", readers: 3, tables: 20, failAt: 7, emitFailAt: -1, wantErr: "table 7 unreadable"},
		{name: "emit fails", readers: 3, tables: 20, failAt: -1, emitFailAt: 50, wantErr: "emit refused record 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const perTable = 10
			readers := make([]int, tc.readers)
			next := map[string]int{}
			firsts, emitted := 0, 0
			err := Read(context.Background(), readers, tc.tables, tableRecords(perTable, tc.failAt),
				func(_ context.Context, r *connect.Record, first bool) error {
					if emitted == tc.emitFailAt {
						return errors.New("emit refused record 50")
					}
					emitted++
					if first {
						firsts++
					}
					if want := next[r.Topic]; r.Value != want {
						return fmt.Errorf("table %s: record %v after %d: order lost", r.Topic, r.Value, want-1)
					}
					next[r.Topic]++
					return nil
				})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Read = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if firsts != 1 || emitted != tc.tables*perTable || len(next) != tc.tables {
				t.Fatalf("%d first, %d records of %d tables emitted; want 1 first and %d records of %d tables", firsts, emitted, len(next), tc.tables*perTable, tc.tables)
			}
		})
	}
}
