package postgres

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
)

// FuzzParseMessage feeds arbitrary bytes to parseMessage, the decoder of
// every pgoutput message the replication stream delivers. Properties:
// whatever checkMessage accepts, pglogrepl.Parse reads without panicking
// (parseMessage's recover is a last resort, not the plan); and a parsed
// message, written back in pgoutput's layout, reads back equal and is the
// prefix of the input it came from (every field was read where
// PostgreSQL puts it).
func FuzzParseMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(encodeMessage(m))
	}
	f.Add([]byte{'T', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1})
	f.Add([]byte{'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'I', 0, 0, 0x40, 0x02, 'N', 0, 0}) // a table without columns
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := parseMessage(data)
		if checkMessage(data) == nil {
			// No recover here: a panic is a finding.
			if _, err := pglogrepl.Parse(data); err == nil && msg == nil {
				t.Fatal("pglogrepl parses what parseMessage rejects")
			}
		}
		if err != nil {
			return
		}
		if isRowChange(data) {
			// The stream decodes changes without pglogrepl: the same
			// relation and cells.
			got := decodeRowChange(data)
			want := rowChangeReference(msg)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeRowChange differs from pglogrepl:\n got %+v\nwant %+v\n%x", got, want, data)
			}
		}
		enc := encodeMessage(msg)
		back, err := parseMessage(enc)
		if err != nil {
			t.Fatalf("cannot parse the re-encoded message: %v\n%x", err, enc)
		}
		if !reflect.DeepEqual(normTimes(msg), normTimes(back)) {
			t.Fatalf("message changed in the round trip:\n%#v\n%#v", msg, back)
		}
		switch msg.(type) {
		case *pglogrepl.BeginMessage, *pglogrepl.CommitMessage:
			// pglogrepl's time decoding wraps beyond year 2262, so the
			// bytes of a time may not come back; the value (above) does.
		default:
			if !bytes.HasPrefix(data, enc) {
				t.Fatalf("re-encoded message is not a prefix of its input:\n%x\n%x", data, enc)
			}
		}
		for _, td := range tuples(msg) {
			cells := tupleCells(td)
			for i, c := range td.Columns {
				switch {
				case c.DataType == pglogrepl.TupleDataTypeNull && !cells[i].null,
					c.DataType == pglogrepl.TupleDataTypeToast && !cells[i].unchanged,
					c.DataType == pglogrepl.TupleDataTypeText && cells[i].text != string(c.Data):
					t.Fatalf("column %d of kind %q became cell %+v", i, c.DataType, cells[i])
				}
			}
		}
	})
}

// sampleMessages is one transaction's worth of messages, each kind once.
func sampleMessages() []pglogrepl.Message {
	text := func(s string) *pglogrepl.TupleDataColumn {
		return &pglogrepl.TupleDataColumn{DataType: 't', Length: uint32(len(s)), Data: []byte(s)}
	}
	tuple := func(cols ...*pglogrepl.TupleDataColumn) *pglogrepl.TupleData {
		return &pglogrepl.TupleData{ColumnNum: uint16(len(cols)), Columns: cols}
	}
	null := &pglogrepl.TupleDataColumn{DataType: 'n'}
	toast := &pglogrepl.TupleDataColumn{DataType: 'u'}
	commit := time.Date(2024, 6, 1, 12, 0, 0, 123456000, time.UTC)
	return []pglogrepl.Message{
		&pglogrepl.BeginMessage{FinalLSN: 0x16B3748, CommitTime: commit, Xid: 770},
		&pglogrepl.OriginMessage{CommitLSN: 0x1000, Name: "pg_16385"},
		&pglogrepl.TypeMessage{DataType: 16390, Namespace: "public", Name: "mood"},
		&pglogrepl.RelationMessage{RelationID: 16386, Namespace: "inventory", RelationName: "customers", ReplicaIdentity: 'd',
			ColumnNum: 3, Columns: []*pglogrepl.RelationMessageColumn{
				{Flags: 1, Name: "id", DataType: oidInt4, TypeModifier: -1},
				{Name: "email", DataType: oidVarchar, TypeModifier: 259},
				{Name: "doc", DataType: oidJSONB, TypeModifier: -1},
			}},
		&pglogrepl.InsertMessage{RelationID: 16386, Tuple: tuple(text("1001"), text("sally@example.com"), text(`{"a": [1, 2]}`))},
		&pglogrepl.UpdateMessage{RelationID: 16386, OldTupleType: 'K', OldTuple: tuple(text("1001"), null, null),
			NewTuple: tuple(text("1002"), text("s@example.com"), toast)},
		&pglogrepl.UpdateMessage{RelationID: 16386, OldTupleType: 'O', OldTuple: tuple(text("1002"), text("s@example.com"), text("{}")),
			NewTuple: tuple(text("1002"), null, toast)},
		&pglogrepl.UpdateMessage{RelationID: 16386, NewTuple: tuple(text("1002"), text("x"), text("[]"))},
		&pglogrepl.DeleteMessage{RelationID: 16386, OldTupleType: 'K', OldTuple: tuple(text("1002"), null, null)},
		&pglogrepl.TruncateMessage{RelationNum: 2, Option: pglogrepl.TruncateOptionCascade, RelationIDs: []uint32{16386, 16390}},
		&pglogrepl.LogicalDecodingMessage{LSN: 0x16B3800, Transactional: true, Prefix: "foo", Content: []byte("bar")},
		&pglogrepl.CommitMessage{CommitLSN: 0x16B3748, TransactionEndLSN: 0x16B3778, CommitTime: commit},
	}
}

// encodeMessage writes m in pgoutput's proto_version 1 layout.
func encodeMessage(m pglogrepl.Message) []byte {
	var b []byte
	u16 := func(v uint16) { b = binary.BigEndian.AppendUint16(b, v) }
	u32 := func(v uint32) { b = binary.BigEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.BigEndian.AppendUint64(b, v) }
	str := func(s string) { b = append(append(b, s...), 0) }
	pgTime := func(t time.Time) {
		u64(uint64(t.UnixMicro() - time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()))
	}
	tuple := func(td *pglogrepl.TupleData) {
		u16(td.ColumnNum)
		for _, c := range td.Columns {
			b = append(b, c.DataType)
			if c.DataType == 't' || c.DataType == 'b' {
				u32(c.Length)
				b = append(b, c.Data...)
			}
		}
	}
	switch m := m.(type) {
	case *pglogrepl.BeginMessage:
		b = append(b, 'B')
		u64(uint64(m.FinalLSN))
		pgTime(m.CommitTime)
		u32(m.Xid)
	case *pglogrepl.CommitMessage:
		b = append(b, 'C', m.Flags)
		u64(uint64(m.CommitLSN))
		u64(uint64(m.TransactionEndLSN))
		pgTime(m.CommitTime)
	case *pglogrepl.OriginMessage:
		b = append(b, 'O')
		u64(uint64(m.CommitLSN))
		str(m.Name)
	case *pglogrepl.RelationMessage:
		b = append(b, 'R')
		u32(m.RelationID)
		str(m.Namespace)
		str(m.RelationName)
		b = append(b, m.ReplicaIdentity)
		u16(m.ColumnNum)
		for _, c := range m.Columns {
			b = append(b, c.Flags)
			str(c.Name)
			u32(c.DataType)
			u32(uint32(c.TypeModifier))
		}
	case *pglogrepl.TypeMessage:
		b = append(b, 'Y')
		u32(m.DataType)
		str(m.Namespace)
		str(m.Name)
	case *pglogrepl.InsertMessage:
		b = append(b, 'I')
		u32(m.RelationID)
		b = append(b, 'N')
		tuple(m.Tuple)
	case *pglogrepl.UpdateMessage:
		b = append(b, 'U')
		u32(m.RelationID)
		if m.OldTuple != nil {
			b = append(b, m.OldTupleType)
			tuple(m.OldTuple)
		}
		b = append(b, 'N')
		tuple(m.NewTuple)
	case *pglogrepl.DeleteMessage:
		b = append(b, 'D')
		u32(m.RelationID)
		b = append(b, m.OldTupleType)
		tuple(m.OldTuple)
	case *pglogrepl.TruncateMessage:
		b = append(b, 'T')
		u32(m.RelationNum)
		b = append(b, m.Option)
		for _, id := range m.RelationIDs {
			u32(id)
		}
	case *pglogrepl.LogicalDecodingMessage:
		flags := byte(0)
		if m.Transactional {
			flags = 1
		}
		b = append(b, 'M', flags)
		u64(uint64(m.LSN))
		str(m.Prefix)
		u32(uint32(len(m.Content)))
		b = append(b, m.Content...)
	default:
		panic("encodeMessage: unexpected message type")
	}
	return b
}

// normTimes returns m with its commit time at microsecond precision, the
// precision pgoutput carries (pglogrepl's decoding can leave stray
// nanoseconds on times it wraps).
func normTimes(m pglogrepl.Message) pglogrepl.Message {
	norm := func(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()) }
	switch x := m.(type) {
	case *pglogrepl.BeginMessage:
		c := *x
		c.CommitTime = norm(c.CommitTime)
		return &c
	case *pglogrepl.CommitMessage:
		c := *x
		c.CommitTime = norm(c.CommitTime)
		return &c
	}
	return m
}

func tuples(m pglogrepl.Message) []*pglogrepl.TupleData {
	var out []*pglogrepl.TupleData
	switch x := m.(type) {
	case *pglogrepl.InsertMessage:
		out = append(out, x.Tuple)
	case *pglogrepl.UpdateMessage:
		out = append(out, x.OldTuple, x.NewTuple)
	case *pglogrepl.DeleteMessage:
		out = append(out, x.OldTuple)
	}
	var nonNil []*pglogrepl.TupleData
	for _, td := range out {
		if td != nil {
			nonNil = append(nonNil, td)
		}
	}
	return nonNil
}

// rowChangeReference is what the stream decoded from an Insert, Update or
// Delete through pglogrepl before decodeRowChange.
func rowChangeReference(m pglogrepl.Message) rowChange {
	switch m := m.(type) {
	case *pglogrepl.InsertMessage:
		return rowChange{relID: m.RelationID, new: tupleCells(m.Tuple)}
	case *pglogrepl.UpdateMessage:
		return rowChange{relID: m.RelationID, old: tupleCells(m.OldTuple), new: tupleCells(m.NewTuple)}
	case *pglogrepl.DeleteMessage:
		return rowChange{relID: m.RelationID, old: tupleCells(m.OldTuple)}
	}
	return rowChange{}
}
