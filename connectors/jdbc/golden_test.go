package jdbc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/converter"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/jdbc")

// TestTypesGolden reads one row of (nearly) every column type per dialect
// and compares the full events, schema included, as Kafka Connect's
// JsonConverter writes them, with testdata/jdbc/types-<dialect>.json.
func TestTypesGolden(t *testing.T) {
	for _, e := range startEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.newDB(t)
			if e.pg != nil {
				e.exec(t, db, `CREATE TYPE mood AS ENUM ('sad', 'happy')`,
					`CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`,
					`CREATE TABLE kinds (
  id bigserial PRIMARY KEY, b boolean NOT NULL, bit1 bit(1), bit6 bit(6), bit12 bit(12),
  i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, m money,
  n_none numeric, n18_0 numeric(18,0), n4_0 numeric(4,0), n10_2 numeric(10,2), n30_0 numeric(30,0), n5_neg numeric(5,-2),
  t text, vc varchar(10), c char(3), nm name, j json, jb jsonb, u uuid, x xml, e mood, dom posint,
  by bytea, d date, tm time(3), ttz timetz, ts timestamp(6), tstz timestamptz,
  arr int[], iv interval, ip inet, ts_inf timestamptz, old date)`,
					`INSERT INTO kinds VALUES (DEFAULT, true, B'1', B'101010', B'101010101010',
  -32768, 2147483647, -9223372036854775808, 1.5, -2.25, 12.34,
  123.456789, 123456789012345678, 1234, -12345678.91, 123456789012345678901234567890, 12300,
  'text ü', 'varchar', 'ab', 'nm', '{"a": [1, 2]}', '{"b": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '<x>1</x>', 'happy', 7,
  '\x00ff10', '2024-02-29', '13:14:15.678', '10:00:00+02', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+01',
  '{1,2}', '1 day', '10.0.0.1', 'infinity', '1500-03-01')`,
					`INSERT INTO kinds (b) VALUES (false)`)
			} else {
				e.exec(t, db, `CREATE TABLE kinds (
  id bigint AUTO_INCREMENT PRIMARY KEY, b boolean NOT NULL, bit1 bit(1), bit12 bit(12),
  ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned, mi mediumint, miu mediumint unsigned,
  i int, iu int unsigned, bi bigint, biu bigint unsigned, f float, d8 double,
  n10_2 decimal(10,2), n18_0 decimal(18,0), n4_0 decimal(4,0), n30_0 decimal(30,0),
  c char(3), vc varchar(10), tx text, e enum('x','y'), st set('a','b'), js json,
  bn binary(3), vb varbinary(10), bl blob,
  d date, tm time(3), dt datetime(6), ts timestamp(6) NULL, yr year, old date)`,
					`INSERT INTO kinds VALUES (DEFAULT, true, b'1', b'101010101010',
  -128, 255, -32768, 65535, -8388608, 16777215,
  -2147483648, 4294967295, -9223372036854775808, 9223372036854775807, 1.5, -2.25,
  -12345678.91, 123456789012345678, 1234, 123456789012345678901234567890,
  'ab', 'varchar', 'text ü', 'y', 'a,b', '{"a": [1, 2]}',
  x'00ff10', x'0102', x'03',
  '2024-02-29', '13:14:15.678', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456', 2024, '1500-03-01')`,
					`INSERT INTO kinds (b) VALUES (false)`)
			}
			for _, mapping := range []string{"none", "best_fit"} {
				t.Run(mapping, func(t *testing.T) {
					w := &capture{offsets: newOffsets()}
					tk := newTestTask(t, baseProps(e, db, "mode", "bulk", "numeric.mapping", mapping,
						"db.timezone", "Europe/Berlin", "topic.prefix", "golden."), w.offsets)
					fixed := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
					tk.clock = func() time.Time { return fixed }
					recs := mustPoll(t, tk, w)
					if len(recs) != 2 {
						t.Fatalf("%d records", len(recs))
					}
					conv := &converter.JSON{SchemasEnabled: true}
					var out bytes.Buffer
					for _, r := range recs {
						k, err := conv.FromConnect(r.Topic, r.KeySchema, r.Key)
						if err != nil {
							t.Fatalf("key: %v", err)
						}
						v, err := conv.FromConnect(r.Topic, r.ValueSchema, r.Value)
						if err != nil {
							t.Fatalf("value: %v", err)
						}
						// The database name differs per run (t1, t2...).
						v = bytes.ReplaceAll(v, []byte(`"db":"`+db+`"`), []byte(`"db":"DB"`))
						for _, part := range [][]byte{k, v} {
							var pretty bytes.Buffer
							if err := json.Indent(&pretty, part, "", "  "); err != nil {
								t.Fatal(err)
							}
							out.Write(pretty.Bytes())
							out.WriteByte('\n')
						}
					}
					compareGolden(t, filepath.Join("..", "..", "testdata", "jdbc", "types-"+e.name+"-"+mapping+".json"), out.Bytes())
				})
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update after checking):\n%s", path, got)
	}
}
