package postgres

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// TestDebeziumTestSuiteExpectations replays rows of Debezium's own
// PostgreSQL test suite (AbstractRecordsProducerTest and
// postgres_create_tables.ddl at v3.6.1.Final: INSERT_DATE_TIME_TYPES_STMT,
// INSERT_BIN_TYPES_STMT) and checks the values its tests expect, for both
// the snapshot and the stream.
func TestDebeziumTestSuiteExpectations(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE time_table (pk SERIAL, ts TIMESTAMP, tsneg TIMESTAMP(6) WITHOUT TIME ZONE, ts_ms TIMESTAMP(3), ts_us TIMESTAMP(6), tz TIMESTAMPTZ, date DATE,
    date_pinf DATE, date_ninf DATE, ti TIME, tip TIME(3), ttf TIME, ttz TIME WITH TIME ZONE, tptz TIME(3) WITH TIME ZONE,
    it INTERVAL, tsp TIMESTAMP (0) WITH TIME ZONE, ts_large TIMESTAMP, ts_large_us TIMESTAMP(6), ts_large_ms TIMESTAMP(3), tz_large TIMESTAMPTZ,
    ts_max TIMESTAMP(6), ts_min TIMESTAMP(6), tz_max TIMESTAMPTZ, tz_min TIMESTAMPTZ, ts_pinf TIMESTAMP(6), ts_ninf TIMESTAMP(6),
    tz_pinf TIMESTAMPTZ, tz_ninf TIMESTAMPTZ, tz_zero TIMESTAMPTZ, PRIMARY KEY(pk))`,
		`CREATE TABLE bitbin_table (pk SERIAL, ba BYTEA, bol BIT(1), bol2 BIT, bs BIT(2), bs7 BIT(7), bv1 BIT VARYING(1), bv BIT VARYING(2), bv2 BIT VARYING(24), bvl BIT VARYING(64), bvunlimited1 BIT VARYING, bvunlimited2 BIT VARYING, PRIMARY KEY(pk))`)
	const insertTimes = `INSERT INTO time_table(ts, tsneg, ts_ms, ts_us, tz, date, date_pinf, date_ninf, ti, tip, ttf, ttz, tptz, it, ts_large, ts_large_us, ts_large_ms, tz_large, ts_max, ts_min, tz_max, tz_min, ts_pinf, ts_ninf, tz_pinf, tz_ninf, tz_zero) ` +
		`VALUES ('2016-11-04T13:51:30.123456'::TIMESTAMP, '1936-10-25T22:10:12.608'::TIMESTAMP, '2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456+02:00'::TIMESTAMPTZ, ` +
		`'2016-11-04'::DATE, 'infinity'::DATE, '-infinity'::DATE, '13:51:30'::TIME, '13:51:30.123'::TIME, '24:00:00'::TIME, '13:51:30.123789+02:00'::TIMETZ, '13:51:30.123+02:00'::TIMETZ, ` +
		`'P1Y2M3DT4H5M6.78S'::INTERVAL,` +
		`'21016-11-04T13:51:30.123456'::TIMESTAMP, '21016-11-04T13:51:30.123457'::TIMESTAMP, '21016-11-04T13:51:30.124'::TIMESTAMP,` +
		`'21016-11-04T13:51:30.123456+07:00'::TIMESTAMPTZ,` +
		`'294247-01-01T23:59:59.999999'::TIMESTAMP,` +
		`'4713-12-31T23:59:59.999999 BC'::TIMESTAMP,` +
		`'294247-01-01T23:59:59.999999+00:00'::TIMESTAMPTZ,` +
		`'4714-12-31T23:59:59.999999Z BC'::TIMESTAMPTZ,` +
		`'infinity'::TIMESTAMP,` +
		`'-infinity'::TIMESTAMP,` +
		`'infinity'::TIMESTAMPTZ,` +
		`'-infinity'::TIMESTAMPTZ,` +
		`'21016-11-04T13:51:30.000000+07:00'::TIMESTAMPTZ` +
		`)`
	const insertBits = `INSERT INTO bitbin_table (ba, bol, bol2, bs, bs7, bv1, bv, bv2, bvl, bvunlimited1, bvunlimited2) ` +
		`VALUES (E'\\001\\002\\003'::bytea, '0'::bit(1), '1'::bit(1), '11'::bit(2), '1'::bit(7), '1'::bit varying(1), '00'::bit(2), '000000110000001000000001'::bit(24),` +
		`'1000000000000000000000000000000000000000000000000000000000000000'::bit(64), '101', '111011010001000110000001000000001')`
	e.exec(t, insertTimes, insertBits)
	r := startTask(t, e.props(), nil, nil)
	r.cap.waitFor(t, 2, isData("dbserver1"))
	waitSlotActive(t, e)
	e.exec(t, insertTimes, insertBits)
	recs := r.cap.waitFor(t, 4, isData("dbserver1"))

	micros := func(s string) int64 {
		tm, err := time.Parse("2006-01-02T15:04:05.999999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	// MicroDuration.durationMicros(1, 2, 3, 4, 5, 6, 780000, DAYS_PER_MONTH_AVG)
	days := float64(1*12+2)*(365.25/12.0) + 3
	secs := float64(float64(float64(float64(days*24)+4)*60)+5)*60 + 6
	interval := int64(float64(secs*1e6) + 780000)
	large := time.Date(21016, 11, 4, 13, 51, 30, 0, time.UTC).UnixMilli()
	timeWant := map[string]any{
		"ts": micros("2016-11-04T13:51:30.123456"), "tsneg": micros("1936-10-25T22:10:12.608"),
		"ts_ms": time.Date(2016, 11, 4, 13, 51, 30, 123000000, time.UTC).UnixMilli(), "ts_us": micros("2016-11-04T13:51:30.123456"),
		"tz": "2016-11-04T11:51:30.123456Z", "date": int32(17109),
		"ti": int64(49890000000), "tip": int32(49890123), "ttf": int64(86400000000),
		"ttz": "11:51:30.123789Z", "tptz": "11:51:30.123Z", "it": interval,
		"ts_large": large*1000 + 123456, "ts_large_us": large*1000 + 123457, "ts_large_ms": large + 124,
		"tz_large": "+21016-11-04T06:51:30.123456Z",
		"ts_max":   int64(9223371331200000000 - 1), "ts_min": int64(-210831897600000001),
		"tz_max": "+294247-01-01T23:59:59.999999Z", "tz_min": "-4713-12-31T23:59:59.999999Z",
		"ts_pinf": int64(9223372036825200000), "ts_ninf": int64(-9223372036832400000),
		"tz_pinf": "infinity", "tz_ninf": "-infinity", "tz_zero": "+21016-11-04T06:51:30.000000Z",
	}
	bitsWant := map[string]any{
		"ba": []byte{1, 2, 3}, "bol": false, "bol2": true, "bs": []byte{3}, "bs7": []byte{64}, "bv1": true, "bv": []byte{},
		"bv2": []byte{1, 2, 3}, "bvl": []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, "bvunlimited1": []byte{5}, "bvunlimited2": []byte{1, 2, 35, 0xda, 1},
	}
	for _, rec := range recs {
		after := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
		want := timeWant
		if rec.Topic == "dbserver1.public.bitbin_table" {
			want = bitsWant
		}
		op := rec.Value.(*connect.StructValue).Get("op")
		for field, w := range want {
			got := after.Get(field)
			if b, ok := w.([]byte); ok {
				if gb, ok := got.([]byte); !ok || !bytes.Equal(gb, b) {
					t.Errorf("%s (op %s) %s = %v, Debezium's tests expect %v", rec.Topic, op, field, got, b)
				}
				continue
			}
			if fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", w, w) {
				t.Errorf("%s (op %s) %s = %T %v, Debezium's tests expect %T %v", rec.Topic, op, field, got, got, w, w)
			}
		}
	}
}
