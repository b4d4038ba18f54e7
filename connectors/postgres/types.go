package postgres

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Built-in type OIDs (pg_type.dat); they are fixed across PostgreSQL
// versions. Extension types (hstore, ltree, citext, isbn) get OIDs at
// CREATE EXTENSION time and are recognised by name.
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidXML         = 142
	oidPoint       = 600
	oidFloat4      = 700
	oidFloat8      = 701
	oidMoney       = 790
	oidMacaddr     = 829
	oidInet        = 869
	oidCidr        = 650
	oidMacaddr8    = 774
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidBit         = 1560
	oidVarbit      = 1562
	oidNumeric     = 1700
	oidUUID        = 2950
	oidTsvector    = 3614
	oidJSONB       = 3802
	oidInt4range   = 3904
	oidNumrange    = 3906
	oidTsrange     = 3908
	oidTstzrange   = 3910
	oidDaterange   = 3912
	oidInt8range   = 3926

	oidBoolArray        = 1000
	oidByteaArray       = 1001
	oidCharArray        = 1002
	oidInt2Array        = 1005
	oidInt4Array        = 1007
	oidTextArray        = 1009
	oidBpcharArray      = 1014
	oidVarcharArray     = 1015
	oidInt8Array        = 1016
	oidFloat4Array      = 1021
	oidFloat8Array      = 1022
	oidOIDArray         = 1028
	oidMacaddrArray     = 1040
	oidInetArray        = 1041
	oidCidrArray        = 651
	oidMacaddr8Array    = 775
	oidTimestampArray   = 1115
	oidDateArray        = 1182
	oidTimeArray        = 1183
	oidTimestamptzArray = 1185
	oidNumericArray     = 1231
	oidTimetzArray      = 1270
	oidUUIDArray        = 2951
	oidJSONArray        = 199
	oidJSONBArray       = 3807
	oidInt4rangeArray   = 3905
	oidNumrangeArray    = 3907
	oidTsrangeArray     = 3909
	oidTstzrangeArray   = 3911
	oidDaterangeArray   = 3913
	oidInt8rangeArray   = 3927
)

// unknownLength is what the JDBC driver reports as the length of types
// without one (text, bytea, unconstrained varchar); Debezium passes it on
// in __debezium.source.column.length.
const unknownLength = math.MaxInt32

// pgType is one row of pg_type, resolved the way Debezium's TypeRegistry
// resolves it: domains point at their base type, arrays at their element.
type pgType struct {
	OID      uint32
	Name     string // typname, e.g. int4, _text, mood
	Schema   string
	Typtype  byte // b, c, d, e, p, r, m
	Category byte // typcategory: A for arrays, E for enums
	ElemOID  uint32
	BaseOID  uint32 // domains
	TypMod   int32  // domains: typtypmod
	Enum     []string

	elem *pgType
	base *pgType
}

func (t *pgType) isArray() bool { return t.Category == 'A' && t.ElemOID != 0 }
func (t *pgType) isEnum() bool  { return t.Typtype == 'e' }

// root follows a domain chain to the type PostgreSQL stores.
func (t *pgType) root() *pgType {
	r := t
	for i := 0; r.base != nil && i < 32; i++ {
		r = r.base
	}
	return r
}

// typeRegistry caches pg_type. Types created after start (a new enum or
// domain used by an ALTER TABLE) are loaded on first use.
type typeRegistry struct {
	mu     sync.Mutex
	byOID  map[uint32]*pgType
	byName map[string]*pgType // unqualified typname of extension types
}

const typesQuery = `SELECT t.oid, t.typname, n.nspname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod,
  (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname <> 'pg_toast'`

func loadTypes(ctx context.Context, conn *pgx.Conn) (*typeRegistry, error) {
	r := &typeRegistry{byOID: map[uint32]*pgType{}, byName: map[string]*pgType{}}
	if err := r.load(ctx, conn, typesQuery); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *typeRegistry) load(ctx context.Context, conn *pgx.Conn, query string, args ...any) error {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read pg_type: %w", err)
	}
	var loaded []*pgType
	for rows.Next() {
		var (
			t             pgType
			typtype, cat  string
			elem, baseOID uint32
			labels        []string
		)
		if err := rows.Scan(&t.OID, &t.Name, &t.Schema, &typtype, &cat, &elem, &baseOID, &t.TypMod, &labels); err != nil {
			rows.Close()
			return fmt.Errorf("read pg_type: %w", err)
		}
		if len(typtype) > 0 {
			t.Typtype = typtype[0]
		}
		if len(cat) > 0 {
			t.Category = cat[0]
		}
		t.ElemOID, t.BaseOID, t.Enum = elem, baseOID, labels
		loaded = append(loaded, &t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pg_type: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range loaded {
		r.byOID[t.OID] = t
		if _, ok := r.byName[t.Name]; !ok || t.Schema == "public" {
			r.byName[t.Name] = t
		}
	}
	for _, t := range r.byOID {
		if t.ElemOID != 0 {
			t.elem = r.byOID[t.ElemOID]
		}
		if t.BaseOID != 0 {
			t.base = r.byOID[t.BaseOID]
		}
	}
	return nil
}

// get returns the type with oid, querying the catalog for types created
// since the registry was loaded.
func (r *typeRegistry) get(ctx context.Context, conn *pgx.Conn, oid uint32) (*pgType, error) {
	r.mu.Lock()
	t := r.byOID[oid]
	r.mu.Unlock()
	if t != nil && (t.BaseOID == 0 || t.base != nil) && (t.ElemOID == 0 || t.elem != nil) {
		return t, nil
	}
	if conn == nil {
		return nil, fmt.Errorf("unknown type OID %d", oid)
	}
	// A new type may reference other new types (a domain over a new enum),
	// so reload the whole catalog rather than one row.
	if err := r.load(ctx, conn, typesQuery); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t = r.byOID[oid]; t == nil {
		return nil, fmt.Errorf("type OID %d not found in pg_type", oid)
	}
	return t, nil
}

// extension reports whether t is the extension type called name (hstore,
// ltree, citext, isbn); extensions live in whatever schema they were
// installed into, so Debezium matches them by name.
func (t *pgType) is(name string) bool { return t != nil && t.Name == name && t.Typtype != 'd' }

// The functions below reproduce the JDBC driver's TypeInfoCache, which
// Debezium uses to turn a type modifier into a column length and scale.

func arrayToBase(t *pgType) uint32 {
	if t.isArray() && t.elem != nil {
		return t.elem.OID
	}
	return t.OID
}

func typePrecision(oid uint32, typmod int32) int {
	switch oid {
	case oidInt2:
		return 5
	case oidOID, oidInt4:
		return 10
	case oidInt8:
		return 19
	case oidFloat4:
		return 8
	case oidFloat8:
		return 17
	case oidNumeric:
		if typmod == -1 {
			return 0
		}
		return int(((typmod - 4) & -65536) >> 16)
	case oidChar, oidBool:
		return 1
	case oidBpchar, oidVarchar:
		if typmod == -1 {
			return unknownLength
		}
		return int(typmod - 4)
	case oidDate, oidTime, oidTimetz, oidInterval, oidTimestamp, oidTimestamptz:
		return typeDisplaySize(oid, typmod)
	case oidBit:
		return int(typmod)
	case oidVarbit:
		if typmod == -1 {
			return unknownLength
		}
		return int(typmod)
	}
	return unknownLength
}

func typeScale(oid uint32, typmod int32) int {
	switch oid {
	case oidFloat4:
		return 8
	case oidFloat8:
		return 17
	case oidNumeric:
		if typmod == -1 {
			return 0
		}
		return int((typmod - 4) & 0xFFFF)
	case oidTime, oidTimetz, oidTimestamp, oidTimestamptz:
		if typmod == -1 {
			return 6
		}
		return int(typmod)
	case oidInterval:
		if typmod == -1 {
			return 6
		}
		return int(typmod & 0xFFFF)
	}
	return 0
}

func typeDisplaySize(oid uint32, typmod int32) int {
	switch oid {
	case oidInt2:
		return 6
	case oidInt4:
		return 11
	case oidOID:
		return 10
	case oidInt8:
		return 20
	case oidFloat4:
		return 15
	case oidFloat8:
		return 25
	case oidChar, oidBool:
		return 1
	case oidDate:
		return 13
	case oidTime, oidTimetz, oidTimestamp, oidTimestamptz:
		var secondSize int
		switch typmod {
		case -1:
			secondSize = 7
		case 0:
			secondSize = 0
		case 1:
			secondSize = 3
		default:
			secondSize = int(typmod) + 1
		}
		switch oid {
		case oidTime:
			return 8 + secondSize
		case oidTimetz:
			return 8 + secondSize + 6
		case oidTimestamp:
			return 13 + 1 + 8 + secondSize
		default:
			return 13 + 1 + 8 + secondSize + 6
		}
	case oidInterval:
		return 49
	case oidVarchar, oidBpchar:
		if typmod == -1 {
			return unknownLength
		}
		return int(typmod - 4)
	case oidNumeric:
		if typmod == -1 {
			return 131089
		}
		precision := int(((typmod - 4) >> 16) & 0xffff)
		scale := int((typmod - 4) & 0xffff)
		if scale != 0 {
			return 1 + precision + 1
		}
		return 1 + precision
	case oidBit:
		return int(typmod)
	case oidVarbit:
		if typmod == -1 {
			return unknownLength
		}
		return int(typmod)
	}
	return unknownLength
}

// lengthScale computes a column's length and scale from its type and
// attribute type modifier, as Debezium's pgoutput decoder does
// (ColumnMetaData / PostgresType.getDefaultLength).
func lengthScale(t *pgType, typmod int32) (length, scale int) {
	if typmod != -1 {
		oid := arrayToBase(t)
		return typePrecision(oid, typmod), typeScale(oid, typmod)
	}
	return defaultLength(t), defaultScale(t)
}

func defaultLength(t *pgType) int {
	if t.base != nil {
		if t.TypMod == -1 {
			return defaultLength(t.base)
		}
		size := typePrecision(arrayToBase(t.base), t.TypMod)
		if size == 0 {
			size = typeDisplaySize(arrayToBase(t.base), t.TypMod)
		}
		if size != 0 && size != unknownLength {
			return size
		}
	}
	oid := arrayToBase(t)
	size := typePrecision(oid, -1)
	if size == 0 {
		size = typeDisplaySize(oid, -1)
	}
	return size
}

func defaultScale(t *pgType) int {
	if t.base != nil {
		if t.TypMod == -1 {
			return defaultScale(t.base)
		}
		return typeScale(arrayToBase(t.base), t.TypMod)
	}
	return typeScale(arrayToBase(t), -1)
}
