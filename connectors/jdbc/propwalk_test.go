package jdbc

import (
	"testing"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connect/config/configtest"
)

// Every property the JDBC source defines changes its parsed settings, is
// refused at non-default values with the reason, or names the test that
// shows its effect.
func TestEveryPropertyHasAnEffect(t *testing.T) {
	base := map[string]string{"connection.url": "jdbc:postgresql://127.0.0.1:5432/app", "mode": "bulk", "topic.prefix": "j-"}
	configtest.Walk(t, Plugin().Config(), base, func(v *config.Values) (any, error) { return parseSettings(v) }, configtest.Options{
		Values: map[string][]string{
			"db.timezone":                 {"Europe/Paris"},
			"incrementing.column.mapping": {"public.t:id"},
			"timestamp.columns.mapping":   {"public.t:[updated]"},
			"soft.delete.value":           {"1"},
			"table.exclude.list":          {"public.u"},
		},
		With: map[string]map[string]string{
			"soft.delete.value":  {"soft.delete.column": "deleted"},
			"table.exclude.list": {"table.include.list": "public.*"},
		},
		Behavioural: map[string]string{
			"dialect.name": "TestDialectNameMustMatchTheURL: Tributary's dialects are those of the URL's database; another is refused",
		},
	})
}

// dialect.name names the dialect of the URL's database, which Tributary
// would pick anyway; a dialect of another database is refused with the
// reason instead of being ignored.
func TestDialectNameMustMatchTheURL(t *testing.T) {
	base := map[string]string{"connection.url": "jdbc:postgresql://127.0.0.1:5432/app", "mode": "bulk", "topic.prefix": "j-"}
	for _, tc := range []struct {
		dialect string
		ok      bool
	}{{"PostgreSqlDatabaseDialect", true}, {"MySqlDatabaseDialect", false}} {
		props := map[string]string{"dialect.name": tc.dialect}
		for k, v := range base {
			props[k] = v
		}
		_, err := parseProps(props)
		if tc.ok != (err == nil) {
			t.Errorf("dialect.name=%s with a PostgreSQL URL: %v", tc.dialect, err)
		}
	}
}
