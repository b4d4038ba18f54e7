package postgres

import (
	"bytes"
	"encoding/binary"
	"fmt"

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
