package mysql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// timeCase is a TIME value and what each time.precision.mode makes of it.
type timeCase struct {
	lit   string // SQL literal, or NULL
	micro any    // adaptive_time_microseconds: io.debezium.time.MicroTime
	conn  any    // connect: org.apache.kafka.connect.data.Time (int32 ms), or null
}

// TIME's whole range, -838:59:59 to 838:59:59, as Debezium gives it: in
// adaptive_time_microseconds every value as signed microseconds; in
// connect (a time of day) the values from 00:00:00 to 24:00:00, and null
// for the rest of a nullable column (Time.toMilliOfDay refuses them and
// handleUnknownData gives null). ('adaptive' is refused for MySQL and
// MariaDB, as by Debezium: see TestPropertiesRefusedWithReason.)
var timeCases = []timeCase{
	{"'-838:59:59.000'", int64(-3_020_399_000_000), nil},
	{"'838:59:59.000'", int64(3_020_399_000_000), nil},
	{"'-12:30:00.000'", int64(-45_000_000_000), nil},
	{"'-00:00:01.500'", int64(-1_500_000), nil},
	{"'-00:00:00.001'", int64(-1_000), nil},
	{"'00:00:00.000'", int64(0), int32(0)},
	{"'23:59:59.999'", int64(86_399_999_000), int32(86_399_999)},
	{"'24:00:00.000'", int64(86_400_000_000), int32(86_400_000)},
	{"'24:00:00.001'", int64(86_400_001_000), nil},
	{"NULL", nil, nil},
}

// Negative and out-of-range TIME values in each time precision mode, read
// by the snapshot (text protocol) and streamed (binlog TIME2 values), of a
// TIME(3), a TIME(6) and a TIME(0) column.
func TestTimeValuesAllModes(t *testing.T) {
	for _, mode := range []string{"adaptive_time_microseconds", "connect"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory")
			e.db.Exec(t, "inventory", "CREATE TABLE times (id INT PRIMARY KEY, t3 TIME(3) NULL, t6 TIME(6) NULL, t0 TIME NULL)")
			insert := func(base int) {
				for i, tc := range timeCases {
					// TIME(0) keeps whole seconds: only the values that
					// have no fraction go there, NULL otherwise
					t0 := tc.lit
					if strings.Contains(tc.lit, ".") && !strings.HasSuffix(tc.lit, ".000'") {
						t0 = "NULL"
					}
					e.db.Exec(t, "inventory", fmt.Sprintf("INSERT INTO times VALUES (%d, %s, %s, %s)", base+i, tc.lit, tc.lit, t0))
				}
			}
			insert(1)
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), e.props(map[string]string{"time.precision.mode": mode}), c)
			c.waitFor(t, len(timeCases), onTopic("mariadb1.inventory.times"))
			insert(101)
			recs := c.waitFor(t, 2*len(timeCases), onTopic("mariadb1.inventory.times"))
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				v := rec.Value.(*connect.StructValue)
				after := v.Get("after").(*connect.StructValue)
				id := int(after.Get("id").(int32))
				how := "snapshot"
				i := id - 1
				if id > 100 {
					how, i = "stream", id-101
				}
				tc := timeCases[i]
				want := tc.micro
				if mode == "connect" {
					want = tc.conn
				}
				for _, col := range []string{"t3", "t6", "t0"} {
					w := want
					if col == "t0" && strings.Contains(tc.lit, ".") && !strings.HasSuffix(tc.lit, ".000'") {
						w = nil
					}
					if got := after.Get(col); got != w {
						t.Errorf("%s %s %s: %v (%T), want %v (%T)", how, col, tc.lit, got, got, w, w)
					}
				}
				name := after.Schema.Field("t3").Schema.Name
				if wantName := map[string]string{"connect": "org.apache.kafka.connect.data.Time", "adaptive_time_microseconds": "io.debezium.time.MicroTime"}[mode]; name != wantName {
					t.Errorf("t3 schema %s, want %s", name, wantName)
				}
			}
		})
	}
}

// In connect mode a TIME outside a day in a NOT NULL column cannot be
// null: the task fails (Debezium fails too) with an error that names the
// column and the way out, in the snapshot and while streaming.
func TestTimeOutOfRangeNotNullConnect(t *testing.T) {
	for _, phase := range []string{"snapshot", "stream"} {
		t.Run(phase, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory")
			e.db.Exec(t, "inventory", "CREATE TABLE tnn (id INT PRIMARY KEY, t TIME(3) NOT NULL)", "INSERT INTO tnn VALUES (1, '01:00:00')")
			if phase == "snapshot" {
				e.db.Exec(t, "inventory", "INSERT INTO tnn VALUES (2, '-838:59:59.000')")
			}
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), e.props(map[string]string{"time.precision.mode": "connect"}), c)
			if phase == "stream" {
				c.waitFor(t, 1, onTopic("mariadb1.inventory.tnn"))
				e.db.Exec(t, "inventory", "INSERT INTO tnn VALUES (2, '-838:59:59.000')")
			}
			err := r.wait(t)
			if err == nil {
				t.Fatal("the task took a negative TIME in a NOT NULL column")
			}
			for _, want := range []string{`column "t"`, "-838:59:59", "NOT NULL", "time.precision.mode=adaptive_time_microseconds"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}
