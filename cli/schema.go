package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/check"
	"github.com/tributary-io/tributary/schema/compat"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	"github.com/tributary-io/tributary/schema/registry"
)

func newSchemaCmd(g *globalFlags) *cobra.Command {
	root := &cobra.Command{
		Use:   "schema",
		Short: "Check or export the schemas connectors would register",
		Long: `Compute the key and value schemas every captured table would get, as the
connectors and the configured converter build them (Confluent's AvroConverter,
JsonSchemaConverter or ProtobufConverter; Avro for any other), from the live database
(-c connector configs) or from DDL files applied to a throwaway database
(--ddl DIR), and check them against a schema registry or committed schema
files, or export them.`,
	}
	root.AddCommand(newSchemaCheckCmd(g), newSchemaExportCmd(g))
	return root
}

type schemaSource struct {
	g     *globalFlags
	files []string
	ddl   string
}

func (s *schemaSource) flags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&s.files, "config", "c", nil, "connector/worker configuration file (YAML or JSON), as for run")
	cmd.Flags().StringVar(&s.ddl, "ddl", "", "directory of .sql files to apply to a throwaway database instead of reading the configured one")
}

func usageErr(err error) error { return &exitError{code: 2, err: err} }

func newSchemaCheckCmd(g *globalFlags) *cobra.Command {
	src := schemaSource{g: g}
	var registryURL, dir, level, format string
	var regProps []string
	cmd := &cobra.Command{
		Use:   "check -c CONFIG (--registry URL | --dir DIR) [--level LEVEL] [--format text|json]",
		Short: "Check that the schemas connectors would register are compatible",
		Long: `Check the schemas connectors would register now against a schema registry
(--registry: the subjects' registered versions at each subject's compatibility
level, or --level) or against committed schema files (--dir, one
<subject>.avsc per subject as 'schema export' writes them, at --level,
default BACKWARD).

Exit status: 0 compatible, 1 incompatible, 2 usage or connection error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return usageErr(err)
			}
			if (registryURL == "") == (dir == "") {
				return usageErr(errors.New("give exactly one of --registry URL and --dir DIR"))
			}
			if format != "text" && format != "json" {
				return usageErr(fmt.Errorf("--format %q: must be text or json", format))
			}
			var lvl compat.Level
			if level != "" {
				if lvl, err = compat.ParseLevel(level); err != nil {
					return usageErr(fmt.Errorf("--level: %w", err))
				}
			}
			var base check.Baseline
			if registryURL != "" {
				props := map[string]string{"schema.registry.url": registryURL}
				for _, p := range regProps {
					k, v, ok := strings.Cut(p, "=")
					if !ok {
						return usageErr(fmt.Errorf("--registry-property %q: want key=value", p))
					}
					props[k] = v
				}
				rc, err := registry.ConfigFromProperties(props)
				if err != nil {
					return usageErr(err)
				}
				client, err := registry.NewClient(rc)
				if err != nil {
					return usageErr(err)
				}
				base = &check.RegistryBaseline{Client: client, URL: registryURL}
			} else {
				if st, err := os.Stat(dir); err != nil || !st.IsDir() {
					return usageErr(fmt.Errorf("--dir %s: not a directory", dir))
				}
				base = &check.DirBaseline{Dir: dir, DefaultLevel: lvl}
			}
			cands, err := src.candidates(cmd.Context(), log)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			rep, err := check.Run(ctx, cands, base, lvl)
			if err != nil {
				return usageErr(err)
			}
			if format == "json" {
				if err := rep.WriteJSON(cmd.OutOrStdout()); err != nil {
					return usageErr(err)
				}
			} else {
				rep.WriteText(cmd.OutOrStdout())
			}
			if !rep.Compatible {
				return &exitError{code: 1, err: errors.New("incompatible schema changes")}
			}
			return nil
		},
	}
	src.flags(cmd)
	cmd.Flags().StringVar(&registryURL, "registry", "", "schema registry URL to check against")
	cmd.Flags().StringArrayVar(&regProps, "registry-property", nil, "registry client property key=value (basic.auth.credentials.source, basic.auth.user.info, schema.registry.ssl.*); repeatable")
	cmd.Flags().StringVar(&dir, "dir", "", "directory of committed <subject>.avsc files to check against")
	cmd.Flags().StringVar(&level, "level", "", "compatibility level: NONE, BACKWARD, FORWARD, FULL or their _TRANSITIVE forms (default: the subject's level, or BACKWARD for --dir)")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func newSchemaExportCmd(g *globalFlags) *cobra.Command {
	src := schemaSource{g: g}
	var dir string
	cmd := &cobra.Command{
		Use:   "export -c CONFIG --dir DIR",
		Short: "Write the schemas connectors would register, one <subject>.avsc per subject",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return usageErr(err)
			}
			if dir == "" {
				return usageErr(errors.New("--dir is required"))
			}
			cands, err := src.candidates(cmd.Context(), log)
			if err != nil {
				return err
			}
			files, err := check.Export(dir, cands)
			if err != nil {
				return usageErr(err)
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			return nil
		},
	}
	src.flags(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the .avsc files to")
	return cmd
}

// candidates computes every subject the configured connectors would
// register: the tables' Connect schemas (from the live database or the
// throwaway one), after the connector's transforms, through the Avro
// mapping and subject strategy of the connector's converters.
func (s *schemaSource) candidates(ctx context.Context, log *slog.Logger) ([]check.Candidate, error) {
	file, err := loadFiles(s.files)
	if err != nil {
		return nil, usageErr(err)
	}
	if s.ddl != "" {
		stop, err := s.throwawayDatabase(ctx, file, log)
		if err != nil {
			return nil, usageErr(err)
		}
		defer stop()
	}
	var out []check.Candidate
	seen := map[string]string{}
	for _, c := range file.Connectors {
		pc, err := runtime.ParseConnector(s.g.plugins(), c)
		if err != nil {
			return nil, usageErr(err)
		}
		if pc.Plugin.Type != connect.SourcePlugin {
			continue
		}
		describe := pc.Plugin.DescribeSchemas
		if describe == nil && pc.Plugin.Class == postgres.Class {
			describe = postgres.DescribeSchemas
		}
		if describe == nil {
			return nil, usageErr(fmt.Errorf("connector %q: %s cannot describe its schemas", c.Name, pc.Plugin.Class))
		}
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		topics, err := describe(dctx, pc.Values)
		cancel()
		if err != nil {
			return nil, usageErr(fmt.Errorf("connector %q: %w", c.Name, err))
		}
		chain, err := s.g.transformRegistry().Build(pc.Values)
		if err != nil {
			return nil, usageErr(fmt.Errorf("connector %q: %w", c.Name, err))
		}
		sides := map[bool]avro.Config{}
		jsonSides := map[bool]jsonschema.DataConfig{}
		protoSides := map[bool]bool{}
		for _, isKey := range []bool{true, false} {
			class, props := converterSide(pc, file.Worker, isKey)
			if class == protobuf.ConverterClass {
				withURL := map[string]string{"schema.registry.url": "http://unused"}
				for k, v := range props {
					withURL[k] = v
				}
				if _, err := protobuf.ParseConverterConfig(withURL); err != nil {
					return nil, usageErr(fmt.Errorf("connector %q: %w", pc.Name, err))
				}
				protoSides[isKey] = true
				continue
			}
			if class == jsonschema.ConverterClass {
				dc, err := jsonDataConfig(props)
				if err != nil {
					return nil, usageErr(fmt.Errorf("connector %q: %w", pc.Name, err))
				}
				jsonSides[isKey] = dc
				continue
			}
			cfg, err := mappingConfig(pc, file.Worker, isKey, log)
			if err != nil {
				return nil, usageErr(err)
			}
			sides[isKey] = cfg
		}
		for _, ts := range topics {
			topic, key, value := ts.Topic, ts.Key, ts.Value
			if len(chain) > 0 {
				rec, err := chain.Apply(sampleRecord(ts))
				if err != nil {
					return nil, usageErr(fmt.Errorf("connector %q: topic %s: applying transforms to a sample record: %w", c.Name, ts.Topic, err))
				}
				if rec == nil {
					log.Warn("the transforms drop a sample insert; its schemas are not checked", "connector", c.Name, "topic", ts.Topic)
					continue
				}
				topic, key, value = rec.Topic, rec.KeySchema, rec.ValueSchema
			}
			for _, side := range []struct {
				s     *connect.Schema
				isKey bool
			}{{key, true}, {value, false}} {
				if side.s == nil {
					continue
				}
				if protoSides[side.isKey] {
					text, _, err := protobuf.FromConnectSchema(side.s)
					if err != nil {
						return nil, usageErr(fmt.Errorf("connector %q: topic %s: %w", c.Name, topic, err))
					}
					subject := topic + "-value"
					if side.isKey {
						subject = topic + "-key"
					}
					if prev, dup := seen[subject]; dup {
						if prev != text {
							return nil, usageErr(fmt.Errorf("subject %s gets two different schemas (topic %s)", subject, topic))
						}
						continue
					}
					seen[subject] = text
					out = append(out, check.Candidate{Subject: subject, Topic: topic, Key: side.isKey, Schema: text, SchemaType: "PROTOBUF"})
					continue
				}
				if dc, ok := jsonSides[side.isKey]; ok {
					// The JsonSchemaConverter registers under the topic
					// name (TopicNameStrategy is all it takes).
					text, err := jsonschema.FromConnectSchema(side.s, dc)
					if err != nil {
						return nil, usageErr(fmt.Errorf("connector %q: topic %s: %w", c.Name, topic, err))
					}
					subject := topic + "-value"
					if side.isKey {
						subject = topic + "-key"
					}
					if prev, dup := seen[subject]; dup {
						if prev != text {
							return nil, usageErr(fmt.Errorf("subject %s gets two different schemas (topic %s)", subject, topic))
						}
						continue
					}
					seen[subject] = text
					out = append(out, check.Candidate{Subject: subject, Topic: topic, Key: side.isKey, Schema: text, SchemaType: "JSON"})
					continue
				}
				cfg := sides[side.isKey]
				as, err := avro.FromConnect(side.s, cfg.Data)
				if err != nil {
					return nil, usageErr(fmt.Errorf("connector %q: topic %s: %w", c.Name, topic, err))
				}
				strategy := cfg.ValueStrategy
				if side.isKey {
					strategy = cfg.KeyStrategy
				}
				subject, err := strategy.Subject(topic, side.isKey, as)
				if err != nil {
					return nil, usageErr(fmt.Errorf("connector %q: topic %s: %w", c.Name, topic, err))
				}
				text := as.String()
				if prev, dup := seen[subject]; dup {
					if prev != text {
						return nil, usageErr(fmt.Errorf("subject %s gets two different schemas (topic %s)", subject, topic))
					}
					continue
				}
				seen[subject] = text
				out = append(out, check.Candidate{Subject: subject, Topic: topic, Key: side.isKey, Schema: text})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out, nil
}

// converterSide is the converter class and properties of one side, with
// Kafka Connect's precedence (connector, then worker).
func converterSide(pc *runtime.Connector, worker map[string]string, isKey bool) (class string, props map[string]string) {
	side := "value.converter"
	if isKey {
		side = "key.converter"
	}
	class = pc.Values.String(side)
	props = pc.Values.WithPrefix(side + ".")
	if class == "" {
		class = worker[side]
		props = map[string]string{}
		for k, v := range worker {
			if strings.HasPrefix(k, side+".") {
				props[strings.TrimPrefix(k, side+".")] = v
			}
		}
	}
	return class, props
}

// jsonDataConfig reads the JsonSchemaConverter settings that shape the
// schema; the registry ones do not matter here, the rest is validated as
// the converter would.
func jsonDataConfig(props map[string]string) (jsonschema.DataConfig, error) {
	withURL := map[string]string{"schema.registry.url": "http://unused"}
	for k, v := range props {
		withURL[k] = v
	}
	cfg, err := jsonschema.ParseConverterConfig(withURL)
	return cfg.Data, err
}

// mappingConfig reads the converter settings that shape the Avro schema
// and the subject, with Kafka Connect's precedence (connector, then worker).
func mappingConfig(pc *runtime.Connector, worker map[string]string, isKey bool, log *slog.Logger) (avro.Config, error) {
	side := "value.converter"
	if isKey {
		side = "key.converter"
	}
	class, props := converterSide(pc, worker, isKey)
	if class != converter.AvroClass && class != "avro" {
		if class == "" {
			class = converter.JSONClass
		}
		log.Warn("the connector's converter is not the Avro converter; checking the schemas AvroConverter would register with its defaults",
			"connector", pc.Name, "converter", side, "class", class)
		return avro.ParseMappingConfig(map[string]string{})
	}
	cfg, err := avro.ParseMappingConfig(props)
	if err != nil {
		return cfg, fmt.Errorf("connector %q: %s: %w", pc.Name, side, err)
	}
	return cfg, nil
}

// sampleRecord is an insert of a row of zero values, so transforms
// (ExtractNewRecordState, topic routing...) can show the schemas and
// topic they produce.
func sampleRecord(ts connect.TopicSchema) *connect.Record {
	rec := &connect.Record{Topic: ts.Topic, Partition: -1, KeySchema: ts.Key, ValueSchema: ts.Value,
		SourcePartition: map[string]any{}, SourceOffset: map[string]any{}, Timestamp: time.Unix(0, 0)}
	if ts.Key != nil {
		rec.Key = zeroValue(ts.Key, true)
	}
	if ts.Value != nil {
		v := zeroValue(ts.Value, true)
		if sv, ok := v.(*connect.StructValue); ok {
			if f := ts.Value.Field("op"); f != nil && f.Schema.Type == connect.String {
				sv.Values[f.Index] = "c"
			}
			if f := ts.Value.Field("after"); f != nil && f.Schema.Type == connect.Struct {
				sv.Values[f.Index] = zeroValue(f.Schema, true)
			}
		}
		rec.Value = v
	}
	return rec
}

func zeroValue(s *connect.Schema, force bool) any {
	if s.Optional && !force {
		return nil
	}
	if s.HasDefault {
		return s.Default
	}
	if s.Name == connect.DecimalName {
		sc, _ := s.Param(connect.DecimalScale)
		n, _ := strconv.Atoi(sc)
		return connect.Decimal{Unscaled: big.NewInt(0), Scale: int32(n)}
	}
	switch s.Type {
	case connect.Int8:
		return int8(0)
	case connect.Int16:
		return int16(0)
	case connect.Int32:
		return int32(0)
	case connect.Int64:
		return int64(0)
	case connect.Float32:
		return float32(0)
	case connect.Float64:
		return float64(0)
	case connect.Boolean:
		return false
	case connect.String:
		return ""
	case connect.Bytes:
		return []byte{}
	case connect.Array:
		return []any{}
	case connect.Map:
		return connect.MapValue{}
	case connect.Struct:
		sv := connect.NewStruct(s)
		for i, f := range s.Fields {
			sv.Values[i] = zeroValue(f.Schema, false)
		}
		return sv
	}
	return nil
}

// throwawayDatabase starts a private PostgreSQL or MariaDB, applies the
// DDL files (sorted by name) and points every connector at it.
func (s *schemaSource) throwawayDatabase(ctx context.Context, file *config.File, log *slog.Logger) (func(), error) {
	entries, err := os.ReadDir(s.ddl)
	if err != nil {
		return nil, fmt.Errorf("--ddl: %w", err)
	}
	var ddl []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			ddl = append(ddl, filepath.Join(s.ddl, e.Name()))
		}
	}
	sort.Strings(ddl)
	if len(ddl) == 0 {
		return nil, fmt.Errorf("--ddl %s: no .sql files", s.ddl)
	}
	kind := ""
	for _, c := range file.Connectors {
		p, ok := s.g.plugins().Lookup(strings.TrimSpace(c.Config["connector.class"]))
		if !ok {
			continue
		}
		var k string
		switch p.Class {
		case postgres.Class:
			k = "postgres"
		case mysql.Plugin().Class, mysql.MariaDBPlugin().Class:
			k = "mariadb"
		default:
			continue // sinks and other sources use no throwaway database
		}
		if kind != "" && kind != k {
			return nil, errors.New("--ddl: the configs mix PostgreSQL and MySQL/MariaDB connectors; check them separately")
		}
		kind = k
	}
	quiet := slog.New(slog.DiscardHandler)
	switch kind {
	case "postgres":
		pg, err := testdb.NewPostgres(ctx, "", quiet)
		if err != nil {
			return nil, fmt.Errorf("--ddl: start PostgreSQL: %w", err)
		}
		dbs := map[string]bool{}
		for _, c := range file.Connectors {
			db := c.Config["database.dbname"]
			if db == "" {
				db = "postgres"
			}
			if !dbs[db] && db != "postgres" {
				if err := pg.CreateDatabaseContext(ctx, db); err != nil {
					pg.Close()
					return nil, err
				}
			}
			dbs[db] = true
			point(c.Config, "127.0.0.1", pg.Port, "postgres")
		}
		for db := range dbs {
			for _, f := range ddl {
				text, err := os.ReadFile(f)
				if err != nil {
					pg.Close()
					return nil, err
				}
				// pgx's simple protocol runs a whole file of statements.
				if err := pg.ExecContext(ctx, db, string(text)); err != nil {
					pg.Close()
					return nil, fmt.Errorf("--ddl %s: %w", f, err)
				}
			}
		}
		log.Info("applied DDL to a throwaway PostgreSQL", "files", len(ddl), "port", pg.Port)
		return func() { _ = pg.Close() }, nil
	case "mariadb":
		// Each file is split into statements here, so that an error names
		// the failing statement and DELIMITER (a client command) works.
		stmts := make([][]string, len(ddl))
		for i, f := range ddl {
			text, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			stmts[i] = splitSQL(string(text))
		}
		defaultDB, createdBy := mariadbDefaultDatabase(file, stmts)
		my, err := testdb.NewMariaDB(ctx, "", quiet)
		if err != nil {
			return nil, fmt.Errorf("--ddl: start MariaDB: %w", err)
		}
		if defaultDB != "" && createdBy < 0 {
			if err := my.ExecContext(ctx, "", "CREATE DATABASE "+quoteMySQLIdent(defaultDB)); err != nil {
				my.Close()
				return nil, fmt.Errorf("--ddl: %w", err)
			}
		}
		for i, f := range ddl {
			// The files run in the connector's database once it exists, as a
			// dump of one database or a migration tool's files expect.
			db := defaultDB
			if createdBy >= i {
				db = ""
			}
			if err := my.ExecContext(ctx, db, stmts[i]...); err != nil {
				my.Close()
				return nil, fmt.Errorf("--ddl %s: %w", f, err)
			}
		}
		for _, c := range file.Connectors {
			point(c.Config, "127.0.0.1", my.Port, "root")
		}
		log.Info("applied DDL to a throwaway MariaDB", "files", len(ddl), "port", my.Port)
		return func() { _ = my.Close() }, nil
	}
	return nil, errors.New("--ddl: no PostgreSQL, MySQL or MariaDB connector configured")
}

func point(cfg map[string]string, host string, port int, user string) {
	cfg["database.hostname"] = host
	cfg["database.port"] = strconv.Itoa(port)
	cfg["database.user"] = user
	cfg["database.password"] = ""
	delete(cfg, "database.sslmode")
	delete(cfg, "database.ssl.mode") // MySQL/MariaDB: the throwaway server has no TLS
}

var (
	plainIdent     = regexp.MustCompile(`^[A-Za-z0-9_$]+$`)
	createDatabase = regexp.MustCompile("(?is)^CREATE\\s+(DATABASE|SCHEMA)\\s+(IF\\s+NOT\\s+EXISTS\\s+)?`?([^`\\s;]+)`?")
)

// mariadbDefaultDatabase is the database the DDL files run in: the one
// database the MySQL/MariaDB connectors capture, when database.include.list
// names exactly one literally. createdBy is the index of the first file
// that creates it itself (-1: none, it is created beforehand); files up to
// that one run without a default database.
func mariadbDefaultDatabase(file *config.File, stmts [][]string) (db string, createdBy int) {
	names := map[string]bool{}
	for _, c := range file.Connectors {
		for _, n := range strings.Split(c.Config["database.include.list"], ",") {
			if n = strings.TrimSpace(n); n != "" {
				names[n] = true
			}
		}
	}
	if len(names) != 1 {
		return "", -1
	}
	for n := range names {
		db = n
	}
	if !plainIdent.MatchString(db) {
		return "", -1
	}
	for i, file := range stmts {
		for _, st := range file {
			if m := createDatabase.FindStringSubmatch(st); m != nil && strings.EqualFold(m[3], db) {
				return db, i
			}
		}
	}
	return db, -1
}

func quoteMySQLIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// splitSQL splits a MySQL/MariaDB script into statements at the
// delimiter (";", or what a DELIMITER line sets, as the mysql client does)
// outside quotes and comments. Plain comments are dropped; executable
// comments (/*! ... */, /*M! ... */), which the server runs, are kept.
func splitSQL(text string) []string {
	var out []string
	var b strings.Builder
	delim := ";"
	flush := func() {
		if st := strings.TrimSpace(b.String()); st != "" {
			out = append(out, st)
		}
		b.Reset()
	}
	var quote byte
	lineStart := true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if quote == 0 && lineStart {
			// DELIMITER is a client command: a line of its own.
			rest := strings.TrimLeft(text[i:], " \t")
			if len(rest) > 10 && strings.EqualFold(rest[:10], "DELIMITER ") && strings.TrimSpace(b.String()) == "" {
				end := strings.IndexByte(rest, '\n')
				if end < 0 {
					end = len(rest)
				}
				if d := strings.TrimSpace(rest[10:end]); d != "" {
					delim = d
				}
				i += len(text[i:]) - len(rest) + end
				continue
			}
		}
		lineStart = c == '\n'
		switch {
		case quote != 0:
			b.WriteByte(c)
			if c == '\\' && quote != '`' && i+1 < len(text) {
				i++
				b.WriteByte(text[i])
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
			b.WriteByte(c)
		case c == '-' && strings.HasPrefix(text[i:], "--") && (i+2 == len(text) || text[i+2] <= ' '), c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
			lineStart = true
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				end = len(text) - i - 2
			} else {
				end += 2
			}
			if strings.HasPrefix(text[i:], "/*!") || strings.HasPrefix(text[i:], "/*M!") {
				b.WriteString(text[i:min(len(text), i+2+end)])
			} else {
				b.WriteByte(' ')
			}
			i += 1 + end
		case strings.HasPrefix(text[i:], delim):
			flush()
			i += len(delim) - 1
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return out
}
