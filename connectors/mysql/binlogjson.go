package mysql

import (
	"bytes"
	"encoding/binary"
	"fmt"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// decodeRowsEvent is the syncer's RowsEventDecodeFunc. go-mysql decodes
// MySQL's binary JSON by following the offsets in the value wherever
// they point: an offset back to its own container recurses until the Go
// stack limit (a fatal error no recover catches: it would take the whole
// worker down), and offsets shared between entries make a small value
// cost exponential time. So a rows event of a table with JSON columns is
// decoded twice: first with those columns read as the BLOBs they are laid
// out like, to check every JSON document with checkBinaryJSON, and only
// then as go-mysql decodes it.
func decodeRowsEvent(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	var jsonCols []int
	for i, t := range e.Table.ColumnType {
		if t == gmysql.MYSQL_TYPE_JSON {
			jsonCols = append(jsonCols, i)
		}
	}
	// Partial JSON updates (binlog_row_value_options=PARTIAL_JSON) lay
	// JSON columns out differently; the connector rejects their values.
	if len(jsonCols) == 0 || e.Type() == replication.EnumRowsEventTypeUnknown {
		return e.DecodeData(pos, data)
	}
	orig := e.Table
	asBlobs := *orig
	asBlobs.ColumnType = bytes.Clone(orig.ColumnType)
	for _, i := range jsonCols {
		asBlobs.ColumnType[i] = gmysql.MYSQL_TYPE_BLOB
	}
	e.Table = &asBlobs
	err = e.DecodeData(pos, data)
	e.Table = orig
	if err != nil {
		return err
	}
	for r, row := range e.Rows {
		for _, i := range jsonCols {
			if b, ok := row[i].([]byte); ok {
				if err := checkBinaryJSON(b); err != nil {
					return fmt.Errorf("table %s.%s row %d column %d: %w", orig.Schema, orig.Table, r, i+1, err)
				}
			}
		}
	}
	return e.DecodeData(pos, data)
}

// maxJSONDepth is MySQL's limit on the nesting of a JSON document.
const maxJSONDepth = 100

// checkBinaryJSON walks a MySQL binary JSON document (sql-common/
// json_binary.cc) the way go-mysql's decoder does and reports what would
// make that decoder read out of bounds, recurse without end, or do more
// work than the document's size: offsets outside their container or into
// its header, nesting beyond MySQL's limit, or more values than bytes.
// An empty document is MySQL's empty value and valid.
func checkBinaryJSON(doc []byte) error {
	if len(doc) == 0 {
		return nil
	}
	w := &jsonbWalker{budget: len(doc)}
	if err := w.value(doc[0], doc[1:], 0); err != nil {
		return fmt.Errorf("invalid binary JSON: %w", err)
	}
	return nil
}

type jsonbWalker struct {
	budget int // values left to visit: a real document has fewer values than bytes
}

func (w *jsonbWalker) value(tp byte, data []byte, depth int) error {
	if w.budget--; w.budget < 0 {
		return fmt.Errorf("values reference more data than the document holds")
	}
	need := func(n int, what string) error {
		if len(data) < n {
			return fmt.Errorf("%s needs %d bytes, %d left", what, n, len(data))
		}
		return nil
	}
	switch tp {
	case replication.JSONB_SMALL_OBJECT, replication.JSONB_LARGE_OBJECT, replication.JSONB_SMALL_ARRAY, replication.JSONB_LARGE_ARRAY:
		if depth >= maxJSONDepth {
			return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
		}
		small := tp == replication.JSONB_SMALL_OBJECT || tp == replication.JSONB_SMALL_ARRAY
		object := tp == replication.JSONB_SMALL_OBJECT || tp == replication.JSONB_LARGE_OBJECT
		return w.container(data, small, object, depth+1)
	case replication.JSONB_LITERAL:
		return need(1, "literal")
	case replication.JSONB_INT16, replication.JSONB_UINT16:
		return need(2, "16-bit integer")
	case replication.JSONB_INT32, replication.JSONB_UINT32:
		return need(4, "32-bit integer")
	case replication.JSONB_INT64, replication.JSONB_UINT64, replication.JSONB_DOUBLE:
		return need(8, "8-byte number")
	case replication.JSONB_STRING:
		_, err := jsonbVarBytes(data)
		return err
	case replication.JSONB_OPAQUE:
		if err := need(1, "opaque type"); err != nil {
			return err
		}
		_, err := jsonbVarBytes(data[1:])
		return err
	}
	return fmt.Errorf("unknown value type %#x", tp)
}

func (w *jsonbWalker) container(data []byte, small, object bool, depth int) error {
	off := 4
	if small {
		off = 2
	}
	read := func(b []byte) int {
		if small {
			return int(binary.LittleEndian.Uint16(b))
		}
		return int(binary.LittleEndian.Uint32(b))
	}
	if len(data) < 2*off {
		return fmt.Errorf("container header needs %d bytes, %d left", 2*off, len(data))
	}
	count, size := read(data), read(data[off:])
	if size > len(data) {
		return fmt.Errorf("container of %d bytes, %d left", size, len(data))
	}
	keyEntry, valueEntry := off+2, 1+off
	header := 2*off + count*valueEntry
	if object {
		header += count * keyEntry
	}
	if count > size || header > size {
		return fmt.Errorf("%d entries do not fit a container of %d bytes", count, size)
	}
	data = data[:size]
	if object {
		for i := 0; i < count; i++ {
			e := 2*off + i*keyEntry
			ko, kl := read(data[e:]), int(binary.LittleEndian.Uint16(data[e+off:]))
			if ko < header || ko+kl > size {
				return fmt.Errorf("key %d at %d+%d is outside the container's data [%d, %d)", i, ko, kl, header, size)
			}
		}
	}
	for i := 0; i < count; i++ {
		e := 2*off + i*valueEntry
		if object {
			e += count * keyEntry
		}
		tp := data[e]
		inline := tp == replication.JSONB_LITERAL || tp == replication.JSONB_INT16 || tp == replication.JSONB_UINT16 ||
			!small && (tp == replication.JSONB_INT32 || tp == replication.JSONB_UINT32)
		if inline {
			if err := w.value(tp, data[e+1:e+valueEntry], depth); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			continue
		}
		vo := read(data[e+1:])
		if vo < header || vo >= size {
			return fmt.Errorf("entry %d at offset %d is outside the container's data [%d, %d)", i, vo, header, size)
		}
		if err := w.value(tp, data[vo:], depth); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return nil
}

// jsonbVarBytes checks a length (7 bits a byte, at most 5 bytes) and the
// bytes it counts.
func jsonbVarBytes(data []byte) (int, error) {
	n := 0
	for i := 0; i < 5; i++ {
		if i >= len(data) {
			return 0, fmt.Errorf("length runs past the end")
		}
		n |= int(data[i]&0x7f) << (7 * i)
		if data[i]&0x80 == 0 {
			if n > len(data)-i-1 {
				return 0, fmt.Errorf("length %d exceeds the %d bytes left", n, len(data)-i-1)
			}
			return i + 1 + n, nil
		}
	}
	return 0, fmt.Errorf("length longer than 5 bytes")
}
