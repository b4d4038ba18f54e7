package postgres

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"
)

// checkMessage walks a pgoutput (proto_version 1) message the way
// pglogrepl.Parse reads it and reports the first field that runs past the
// end of the data or holds a value PostgreSQL never sends. pglogrepl
// trusts lengths and counts: a column length of 2^32-1 or a truncate of
// 2^32-1 relations makes it allocate gigabytes before it notices that the
// data is short, and a missing NUL or tuple byte makes it read the wrong
// field. Message types it does not know are left to pglogrepl, which
// rejects them.
func checkMessage(data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("empty pgoutput message")
	}
	r := &msgReader{data: data[1:]}
	switch data[0] {
	case 'B':
		r.msg = "Begin"
		r.skip("final LSN", 8)
		r.skip("commit time", 8)
		r.skip("xid", 4)
	case 'C':
		r.msg = "Commit"
		r.skip("flags", 1)
		r.skip("commit LSN", 8)
		r.skip("end LSN", 8)
		r.skip("commit time", 8)
	case 'O':
		r.msg = "Origin"
		r.skip("commit LSN", 8)
		r.str("name")
	case 'R':
		r.msg = "Relation"
		r.skip("relation id", 4)
		r.str("namespace")
		r.str("relation name")
		r.skip("replica identity", 1)
		n := r.u16("column count")
		for i := 0; i < n && r.err == nil; i++ {
			r.skip(fmt.Sprintf("column %d flags", i), 1)
			r.str(fmt.Sprintf("column %d name", i))
			r.skip(fmt.Sprintf("column %d type", i), 4)
			r.skip(fmt.Sprintf("column %d type modifier", i), 4)
		}
	case 'Y':
		r.msg = "Type"
		r.skip("type id", 4)
		r.str("namespace")
		r.str("name")
	case 'I':
		r.msg = "Insert"
		r.skip("relation id", 4)
		r.expect("tuple kind", 'N')
		r.tuple("new tuple")
	case 'U':
		r.msg = "Update"
		r.skip("relation id", 4)
		switch k := r.u8("tuple kind"); k {
		case 'K', 'O':
			r.tuple("old tuple")
			r.expect("new tuple kind", 'N')
			r.tuple("new tuple")
		case 'N':
			r.tuple("new tuple")
		default:
			r.fail("tuple kind %q, want K, O or N", k)
		}
	case 'D':
		r.msg = "Delete"
		r.skip("relation id", 4)
		switch k := r.u8("tuple kind"); k {
		case 'K', 'O':
			r.tuple("old tuple")
		default:
			r.fail("tuple kind %q, want K or O", k)
		}
	case 'T':
		r.msg = "Truncate"
		n := r.u32("relation count")
		r.skip("options", 1)
		switch {
		case r.err != nil:
		case n == 0:
			r.fail("no relations") // pgoutput sends none for an empty set
		case n > uint32(len(r.data)/4):
			r.fail("%d relation ids do not fit the %d bytes left", n, len(r.data))
		default:
			r.skip("relation ids", int(n)*4)
		}
	case 'M':
		r.msg = "Message"
		// 0, or 1 for a transactional message; pglogrepl reads any other
		// value as non-transactional.
		if f := r.u8("flags"); r.err == nil && f > 1 {
			r.fail("flags %d, want 0 or 1", f)
		}
		r.skip("LSN", 8)
		r.str("prefix")
		if n := r.u32("content length"); r.err == nil && n > uint32(len(r.data)) {
			r.fail("content length %d exceeds the %d bytes left", n, len(r.data))
		} else {
			r.skip("content", int(n))
		}
	default:
		return nil
	}
	// The proto_version 1 layouts are fixed; bytes after the last field
	// mean the message was not read where PostgreSQL wrote its fields.
	if r.err == nil && len(r.data) > 0 {
		r.fail("%d bytes after the last field", len(r.data))
	}
	return r.err
}

// zeroColumnInsert decodes an Insert whose tuple has no columns (a table
// created without columns): 7 bytes after the type, which pglogrepl
// rejects because it wants at least 8.
func zeroColumnInsert(data []byte) (*pglogrepl.InsertMessage, bool) {
	if len(data) != 8 || data[0] != 'I' || data[5] != 'N' || data[6] != 0 || data[7] != 0 {
		return nil, false
	}
	m := &pglogrepl.InsertMessage{RelationID: binary.BigEndian.Uint32(data[1:5]), Tuple: &pglogrepl.TupleData{}}
	m.SetType(pglogrepl.MessageTypeInsert)
	return m, true
}

// msgReader reads a pgoutput message's fields; the first problem sticks in
// err, naming the message and the field.
type msgReader struct {
	msg  string
	data []byte
	err  error
}

func (r *msgReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed pgoutput %s message: %s", r.msg, fmt.Sprintf(format, args...))
	}
}

func (r *msgReader) skip(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.data) {
		r.fail("%s needs %d bytes, %d left", field, n, len(r.data))
		return nil
	}
	b := r.data[:n]
	r.data = r.data[n:]
	return b
}

func (r *msgReader) u8(field string) byte {
	if b := r.skip(field, 1); b != nil {
		return b[0]
	}
	return 0
}

func (r *msgReader) u16(field string) int {
	if b := r.skip(field, 2); b != nil {
		return int(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *msgReader) u32(field string) uint32 {
	if b := r.skip(field, 4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *msgReader) expect(field string, want byte) {
	if got := r.u8(field); r.err == nil && got != want {
		r.fail("%s %q, want %q", field, got, want)
	}
}

func (r *msgReader) str(field string) {
	if r.err != nil {
		return
	}
	i := bytes.IndexByte(r.data, 0)
	if i < 0 {
		r.fail("%s is not NUL-terminated", field)
		return
	}
	r.data = r.data[i+1:]
}

// tuple checks TupleData. The connector asks for text output, so binary
// ('b') columns would be text-parsed garbage; they are rejected like
// kinds PostgreSQL does not define.
func (r *msgReader) tuple(which string) {
	// Field names are formatted only on failure: this runs for every
	// column of every change, and building them eagerly (fmt.Sprintf per
	// column) cost a tenth of the connector's CPU.
	if r.err != nil {
		return
	}
	if len(r.data) < 2 {
		r.fail("%s column count needs 2 bytes, %d left", which, len(r.data))
		return
	}
	n := int(binary.BigEndian.Uint16(r.data))
	r.data = r.data[2:]
	for i := 0; i < n; i++ {
		if len(r.data) < 1 {
			r.fail("%s column %d kind needs 1 bytes, %d left", which, i, len(r.data))
			return
		}
		k := r.data[0]
		r.data = r.data[1:]
		switch k {
		case 'n', 'u':
		case 't':
			if len(r.data) < 4 {
				r.fail("%s column %d length needs 4 bytes, %d left", which, i, len(r.data))
				return
			}
			l := binary.BigEndian.Uint32(r.data)
			r.data = r.data[4:]
			if l > uint32(len(r.data)) {
				r.fail("%s column %d length %d exceeds the %d bytes left", which, i, l, len(r.data))
				return
			}
			r.data = r.data[l:]
		case 'b':
			r.fail("%s column %d is in binary format, but the connector requested text", which, i)
			return
		default:
			r.fail("%s column %d has unknown kind %q", which, i, k)
			return
		}
	}
}

// rowChange is an Insert, Update or Delete message decoded straight into
// the cells events are built from. old and new are nil when the message
// has no such tuple.
type rowChange struct {
	relID    uint32
	old, new []*cell
}

// isRowChange reports whether a pgoutput message is an Insert, Update or
// Delete, which decodeRowChange reads.
func isRowChange(data []byte) bool {
	return len(data) > 0 && (data[0] == 'I' || data[0] == 'U' || data[0] == 'D')
}

// decodeRowChange reads an Insert, Update or Delete that checkMessage
// accepted (so every length and kind is known to be in range). Through
// pglogrepl a change cost a message, a TupleData, a column struct and a
// copy of the bytes per column, then tupleCells copied the bytes again:
// a third of the task's allocations in the pg-stream-issue14 profile.
// Here a tuple is three allocations, as tupleCells makes
// (FuzzParseMessage checks both decoders agree).
func decodeRowChange(data []byte) rowChange {
	c := rowChange{relID: binary.BigEndian.Uint32(data[1:5])}
	p := data[5:]
	switch data[0] {
	case 'I':
		c.new, _ = tupleCellsAt(p[1:])
	case 'U':
		if p[0] == 'K' || p[0] == 'O' {
			c.old, p = tupleCellsAt(p[1:])
		}
		c.new, _ = tupleCellsAt(p[1:]) // p[0] is 'N'
	case 'D':
		c.old, _ = tupleCellsAt(p[1:])
	}
	return c
}

// tupleCellsAt reads the TupleData at the start of p into cells and
// returns them and the bytes after it.
func tupleCellsAt(p []byte) ([]*cell, []byte) {
	n := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	size, q := 0, p
	for range n {
		k := q[0]
		q = q[1:]
		if k == 't' {
			l := int(binary.BigEndian.Uint32(q))
			size += l
			q = q[4+l:]
		}
	}
	rest := q
	var text strings.Builder // its String does not copy
	text.Grow(size)
	q = p
	for range n {
		k := q[0]
		q = q[1:]
		if k == 't' {
			l := int(binary.BigEndian.Uint32(q))
			text.Write(q[4 : 4+l])
			q = q[4+l:]
		}
	}
	all := text.String()
	backing := make([]cell, n)
	cells := make([]*cell, n)
	at := 0
	q = p
	for i := range n {
		k := q[0]
		q = q[1:]
		switch k {
		case 'n':
			backing[i].null = true
		case 'u':
			backing[i].unchanged = true
		case 't':
			l := int(binary.BigEndian.Uint32(q))
			backing[i].text = all[at : at+l]
			at += l
			q = q[4+l:]
		}
		cells[i] = &backing[i]
	}
	return cells, rest
}
