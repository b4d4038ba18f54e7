package mysql

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tributary-io/tributary/connect/config"
)

// refuseUnimplemented refuses the properties of families the MySQL and
// MariaDB connectors accept by prefix but do not implement, each with the
// reason, so that none is accepted without effect. Single properties are
// refused by their Validate in connectorDef, which `validate --offline`
// runs too; these depend on names only known from the configuration.
func refuseUnimplemented(v *config.Values) error {
	raw := v.Raw()
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs config.Errors
	for _, k := range names {
		if v.Defines(k) {
			continue
		}
		var why string
		switch {
		case strings.HasPrefix(k, "signal."), strings.HasPrefix(k, "incremental.snapshot."), strings.HasPrefix(k, "notification."):
			// signal.Parse explains these families
		case strings.HasPrefix(k, "driver."):
			why = "Tributary does not use a JDBC driver, so JDBC driver properties have no meaning; use the database.* connection properties"
		case strings.HasPrefix(k, "snapshot.mode."):
			why = "it only applies to snapshot.mode=configuration_based or custom, which are not supported"
		case strings.HasPrefix(k, "schema.history.internal."):
			why = historyPropertyProblem(strings.TrimPrefix(k, "schema.history.internal."))
		case strings.HasPrefix(k, "column.truncate.to.") && !reTruncate.MatchString(k),
			strings.HasPrefix(k, "column.mask.with.") && !reMaskWith.MatchString(k),
			strings.HasPrefix(k, "column.mask.hash.") && !reMaskHash.MatchString(k):
			why = "not a column mapper Debezium defines: column.truncate.to.<n>.chars, column.mask.with.<n>.chars, column.mask.hash[.v2].<algorithm>.with.salt.<salt>"
		case k == "column.propagate.source.type", k == "datatype.propagate.source.type", k == "database.initial.statements":
		case strings.HasPrefix(k, "column.propagate.source.type"), strings.HasPrefix(k, "datatype.propagate.source.type"),
			strings.HasPrefix(k, "database.initial.statements"):
			why = "not a Debezium property (did you mean the one it starts with?)"
		}
		if why != "" {
			errs = append(errs, config.FieldError{Name: k, Message: "not supported: " + why})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// historyKafkaClient are KafkaSchemaHistory's settings of its own Kafka
// clients, read by parseHistoryClient.
var historyKafkaClient = map[string]bool{
	"name": true, "kafka.recovery.poll.interval.ms": true, "kafka.recovery.attempts": true,
	"kafka.query.timeout.ms": true, "kafka.create.timeout.ms": true, "kafka.buffer.batch.size": true,
}

// historyPropertyProblem explains a schema.history.internal.* property
// connectorDef does not define, or returns "" when it is accepted.
func historyPropertyProblem(name string) string {
	switch {
	case historyKafkaClient[name], strings.HasPrefix(name, "producer."), strings.HasPrefix(name, "consumer."):
		return ""
	case name == "prefer.ddl", name == "memory.optimization", name == "connector.class", name == "connector.id":
		return "it is an internal setting of Debezium's schema history"
	}
	return "it is not a property of the schema history stores (" + kafkaHistoryClass + ", " + fileHistoryClass + ", " + redisHistoryClass + ")"
}

// parseSelectOverrides reads snapshot.select.statement.overrides: the list
// names tables (<database>.<table>), and
// snapshot.select.statement.overrides.<database>.<table> holds the SELECT
// the snapshot reads that table with. A listed table without a statement,
// or a statement for a table that is not listed, is an error: Debezium
// warns and ignores such a statement.
func parseSelectOverrides(v *config.Values) (map[TableID]string, error) {
	const prop = "snapshot.select.statement.overrides"
	out := map[TableID]string{}
	listed := map[string]bool{}
	for _, name := range v.List(prop) {
		db, tbl, ok := strings.Cut(name, ".")
		if !ok || db == "" || tbl == "" || strings.Contains(tbl, ".") {
			return nil, config.Errors{{Name: prop, Value: name, Message: "each entry must be <database>.<table>"}}
		}
		stmt := strings.TrimSpace(v.Raw()[prop+"."+name])
		if stmt == "" {
			return nil, config.Errors{{Name: prop, Value: name, Message: fmt.Sprintf("the table is listed but %s.%s holds no SELECT statement", prop, name)}}
		}
		listed[name] = true
		out[TableID{DB: db, Table: tbl}] = strings.TrimRight(stmt, "; \t\n")
	}
	for k := range v.Raw() {
		if t, ok := strings.CutPrefix(k, prop+"."); ok && !listed[t] {
			return nil, config.Errors{{Name: k, Message: fmt.Sprintf("not supported: %s does not list %s, so the statement would never be used", prop, t)}}
		}
	}
	return out, nil
}

// tinyIntBoolClasses are the class names of Debezium's
// TinyIntOneToBooleanConverter, built in: the binlog one the MariaDB and
// MySQL documentation recommend for BOOLEAN columns, and the older
// MySQL-named subclass.
var tinyIntBoolClasses = map[string]bool{
	"io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter": true,
	"io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter":  true,
}

// tinyIntBool is one configured TinyIntOneToBooleanConverter: TINYINT
// columns (of length 1 unless lengthChecker is off) whose
// <database>.<table>.<column> matches selector become BOOLEAN fields.
type tinyIntBool struct {
	name          string
	selector      []*regexp.Regexp // nil: every column
	lengthChecker bool
}

// applies is TinyIntOneToBooleanConverter.converterFor's test.
func (b *tinyIntBool) applies(id TableID, col *Column) bool {
	switch strings.ToUpper(col.TypeName) {
	case "TINYINT", "TINYINT UNSIGNED":
	default:
		return false
	}
	if b.lengthChecker && col.Length != 1 {
		return false
	}
	if b.selector == nil {
		return true
	}
	full := id.DB + "." + id.Table + "." + col.Name
	for _, re := range b.selector {
		if re.MatchString(full) {
			return true
		}
	}
	return false
}

// parseConverters reads Debezium's converters property: each name's
// <name>.type must be a converter Tributary builds in, and only that
// converter's own settings may follow the name.
func parseConverters(v *config.Values) ([]tinyIntBool, error) {
	raw := v.Raw()
	var out []tinyIntBool
	var errs config.Errors
	for _, name := range v.List("converters") {
		typ := strings.TrimSpace(raw[name+".type"])
		switch {
		case typ == "":
			errs = append(errs, config.FieldError{Name: name + ".type", Message: "missing: converters lists " + name + " but names no class for it"})
			continue
		case !tinyIntBoolClasses[typ]:
			errs = append(errs, config.FieldError{Name: name + ".type", Value: typ, Message: "not supported: custom converters are Java classes; built in are io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter and io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter"})
			continue
		}
		c := tinyIntBool{name: name, lengthChecker: true}
		if sel := raw[name+".selector"]; strings.TrimSpace(sel) != "" {
			// Predicates.includes: case-insensitive regular expressions
			// matched against the whole <database>.<table>.<column>
			for _, p := range config.SplitList(sel) {
				re, err := regexp.Compile("(?i)^(?:" + p + ")$")
				if err != nil {
					errs = append(errs, config.FieldError{Name: name + ".selector", Value: p, Message: "invalid regular expression: " + err.Error()})
					continue
				}
				c.selector = append(c.selector, re)
			}
		}
		if lc, ok := raw[name+".length.checker"]; ok && strings.TrimSpace(lc) != "" {
			// Boolean.parseBoolean: anything but "true" is false
			c.lengthChecker = strings.EqualFold(strings.TrimSpace(lc), "true")
		}
		for k := range raw {
			rest, ok := strings.CutPrefix(k, name+".")
			if ok && rest != "type" && rest != "selector" && rest != "length.checker" {
				errs = append(errs, config.FieldError{Name: k, Message: "not supported: TinyIntOneToBooleanConverter's settings are selector and length.checker"})
			}
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Name < errs[j].Name })
		return nil, errs
	}
	return out, nil
}
