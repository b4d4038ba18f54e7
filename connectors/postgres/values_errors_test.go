package postgres

import (
	"strings"
	"testing"
)

// Texts PostgreSQL never writes must fail with an error, not turn into
// another value (February 31 into March 2) or hang (an exponent asking
// for a scale of two billion).
func TestValueTextErrors(t *testing.T) {
	mood := &pgType{OID: 16390, Name: "mood", Typtype: 'e', Category: 'E', Enum: []string{"sad", "ok"}}
	for _, tc := range []struct {
		t            *pgType
		length, scal int
		opts         valueOptions
		in, want     string
	}{
		{&pgType{OID: oidDate}, 0, 0, valueOptions{}, "2024-02-31", "day 31 of a month with 29 days"},
		{&pgType{OID: oidDate}, 0, 0, valueOptions{}, "2023-02-29", "day 29 of a month with 28 days"},
		{&pgType{OID: oidDate}, 0, 0, valueOptions{}, "2024-+1-01", "invalid date"},
		{&pgType{OID: oidDate}, 0, 0, valueOptions{}, "+2024-01-01", "invalid date"},
		{&pgType{OID: oidDate}, 0, 0, valueOptions{}, "02024-01-01", "invalid date"},
		{&pgType{OID: oidTimestamp}, 0, 6, valueOptions{}, "2024-04-31 00:00:00", "day 31 of a month with 30 days"},
		{&pgType{OID: oidTimestamp}, 0, 6, valueOptions{}, "2024-01-01 -1:00:00", "invalid timestamp"},
		{&pgType{OID: oidTimestamptz}, 0, 6, valueOptions{}, "2024-01-01 00:00:00+-1", "invalid UTC offset"},
		{&pgType{OID: oidNumeric}, 10, 2, valueOptions{decimalMode: "precise"}, "1e-2147483647", "beyond PostgreSQL's numeric range"},
		{&pgType{OID: oidNumeric}, 131089, 0, valueOptions{decimalMode: "precise"}, "1e999999999", "beyond PostgreSQL's numeric range"},
		{&pgType{OID: oidMoney}, 0, 0, valueOptions{decimalMode: "precise", moneyDigits: 2}, "1e999999999", "failed to parse money value"},
		{&pgType{OID: 16391, Name: "_mood", Category: 'A', ElemOID: mood.OID, elem: mood}, 0, 0, valueOptions{}, "{sad,NULL}",
			"array element 1 is NULL (or a nested array), but the elements of _mood arrays are required"},
	} {
		m, err := tc.opts.mapType(tc.t, tc.length, tc.scal, tc.t)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.convert(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, %v; want an error containing %q", tc.in, v, err, tc.want)
		}
	}
	// BC leap years are astronomical: 1 BC is year 0, a leap year.
	if _, err := parseDate("0001-02-29 BC"); err != nil {
		t.Errorf("0001-02-29 BC: %v", err)
	}
}
