package postgres

import (
	"regexp"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Column defaults, as Debezium's PostgresDefaultValueConverter puts them
// into field schemas: literal defaults of the types it knows are parsed,
// function defaults (nextval, now()) become a type-specific placeholder,
// anything else is no default.

var (
	literalDefault  = regexp.MustCompile(`'(.*?)'`)
	functionDefault = regexp.MustCompile(`^[(]?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\)`)
	currentDateTime = map[string]bool{"current_timestamp": true, "current_time": true, "current_date": true, "localtime": true, "localtimestamp": true}
	trimDefaults    = map[string]bool{"bit": true, "varbit": true, "bool": true, "numeric": true, "float4": true, "float8": true,
		"int2": true, "int4": true, "serial": true, "int8": true, "bigserial": true, "smallserial": true, "uuid": true,
		"date": true, "time": true, "timestamp": true, "timestamptz": true, "interval": true}
	// placeholders for generated defaults, per type
	generatedDefault = map[string]string{"bit": "00", "varbit": "0", "bool": "false", "bpchar": "", "varchar": "", "text": "",
		"numeric": "0.0", "float4": "0.0", "float8": "0.0", "int2": "0", "int4": "0", "int8": "0", "json": "{}", "jsonb": "{}",
		"xml": "", "uuid": "00000000-0000-0000-0000-000000000000", "date": "1970-01-01", "time": "00:00",
		"timestamp": "1970-01-01", "timestamptz": "1970-01-01", "interval": "epoch"}
	nullable = map[string]bool{"bool": true, "numeric": true, "float4": true, "float8": true, "int2": true, "int4": true, "int8": true}
)

func extractDefault(expr string) (string, bool) {
	if !strings.Contains(expr, "'") {
		if strings.HasPrefix(expr, "NULL::") {
			return "", false
		}
		return expr, true
	}
	m := literalDefault.FindStringSubmatch(expr)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// parseDefault returns the Connect default of c, if Debezium would set one.
func parseDefault(c *column, m *mapping) (any, bool) {
	typeName := c.Type.Name
	expr := c.DefaultExpr
	placeholder, known := generatedDefault[typeName]
	if !known && !c.Type.isEnum() {
		return nil, false
	}
	if trimDefaults[typeName] {
		expr = strings.TrimSpace(expr)
	}
	if nullable[typeName] && strings.HasPrefix(expr, "NULL::") {
		return nil, false
	}
	var lit string
	if c.Type.isEnum() {
		// 'value'::type; a cast to another type is no default.
		i := strings.LastIndex(expr, "::")
		if i < 0 {
			return nil, false
		}
		cast := strings.Trim(expr[i+2:], `"`)
		if j := strings.LastIndex(cast, "."); j >= 0 {
			cast = strings.Trim(cast[j+1:], `"`)
		}
		v := expr[:i]
		if cast != c.Type.Name || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			return nil, false
		}
		lit = v[1 : len(v)-1]
	} else if functionDefault.MatchString(expr) || currentDateTime[strings.ToLower(expr)] {
		lit = placeholder
	} else {
		var ok bool
		if lit, ok = extractDefault(expr); !ok {
			return nil, false
		}
	}
	text, ok := defaultText(typeName, lit)
	if !ok {
		return nil, false
	}
	if typeName == "bit" && len(text) == 1 {
		// A one-character bit default is a boolean even for bit(n>1).
		if m.schema == nil {
			return nil, false
		}
		return text == "1", isBool(m)
	}
	v, err := m.convert(text)
	if err != nil {
		return nil, false
	}
	if _, isStruct := v.(*connect.StructValue); isStruct {
		// Kafka cannot serialise struct defaults (KAFKA-12694); Debezium drops them.
		return nil, false
	}
	return v, true
}

func isBool(m *mapping) bool {
	s, err := m.schema.Build()
	return err == nil && s.Type == connect.Boolean
}

// defaultText turns the literal Debezium extracted into the text form the
// column's converter parses.
func defaultText(typeName, lit string) (string, bool) {
	switch typeName {
	case "bool":
		if strings.EqualFold(lit, "true") {
			return "t", true
		}
		return "f", true
	case "timestamp", "timestamptz":
		if len(lit) == 10 {
			lit += " 00:00:00"
		}
		if typeName == "timestamptz" && !hasOffset(lit) {
			lit += "+00"
		}
		return lit, true
	case "time":
		if len(lit) == 5 {
			lit += ":00"
		}
		return lit, true
	case "interval":
		if lit == "epoch" {
			return "00:00:00", true
		}
		return lit, true
	}
	return lit, true
}

func hasOffset(s string) bool {
	if len(s) < 19 {
		return false
	}
	tail := s[19:]
	return strings.ContainsAny(tail, "+-")
}
