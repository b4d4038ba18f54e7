package jdbc

import "testing"

func TestWidens(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{"integer", "bigint", true},
		{"int(11)", "bigint", true},
		{"bigint(20)", "bigint", false},
		{"bigint", "integer", false},
		{"smallint", "integer", true},
		{"tinyint(4)", "smallint", true},
		{"tinyint(1)", "smallint", false}, // MySQL's boolean
		{"int(10) unsigned", "bigint", false},
		{"real", "double precision", true},
		{"float", "double", true},
		{"character varying(20)", "varchar(40)", true},
		{"varchar(40)", "varchar(20)", false},
		{"varchar(20)", "longtext", false}, // no length information: left alone
		{"numeric(10,2)", "numeric(12,2)", true},
		{"decimal(10,2)", "decimal(12,3)", true},
		{"numeric(10,2)", "numeric(10,3)", false}, // fewer integer digits
		{"numeric(10,2)", "numeric", false},
		{"integer", "numeric(20,0)", false},
		{"timestamp(6) without time zone", "timestamp(6)", false},
		{"text", "text", false},
	} {
		if got := widens(tc.from, tc.to); got != tc.want {
			t.Errorf("widens(%q, %q) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{"integer", "bigint", true},
		{"character varying(20)", "text", true},
		{"longtext", "varchar(40)", true},
		{"integer", "text", false},
		{"timestamp(6) without time zone", "timestamp(6) without time zone", true},
		{"jsonb", "jsonb", true},
		{"jsonb", "jsonb", true},
		{"longtext", "json", true},
		{"timestamp(6) without time zone", "timestamp(6)", true},
		{"timestamp(6) with time zone", "timestamptz", true},
		{"timestamp(6) with time zone", "timestamp(6)", false},
		{"datetime(6)", "datetime(6)", true},
		{"bytea", "text", false},
	} {
		if got := compatible(tc.from, tc.to); got != tc.want {
			t.Errorf("compatible(%q, %q) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// TestConflicts: a number column cannot take text, bytes or JSON; other
// differences are left to the database.
func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{"integer", "text", true},
		{"int(11)", "longtext", true},
		{"numeric(10,2)", "varchar(20)", true},
		{"double precision", "bytea", true},
		{"bigint", "jsonb", true},
		{"integer", "bigint", false},
		{"text", "integer", false},
		{"varchar(20)", "text", false},
		{"timestamp(6) without time zone", "text", false},
		{"tinyint(1)", "text", false},
	} {
		if got := conflicts(tc.from, tc.to); got != tc.want {
			t.Errorf("conflicts(%q, %q) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
