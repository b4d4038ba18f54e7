package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pglogrepl"
)

func TestParseMessageRejectsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty pgoutput message"},
		{"huge column length", []byte{'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0xff, 0xff, 0xff, 0xff},
			"Insert message: new tuple column 0 length 4294967295 exceeds the 0 bytes left"},
		{"huge truncate", []byte{'T', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1},
			"Truncate message: 4294967295 relation ids do not fit the 4 bytes left"},
		{"no relations", []byte{'T', 0, 0, 0, 0, 0, '0', '0', '0', '0'}, "Truncate message: no relations"},
		{"update without new tuple", []byte{'U', 0, 0, 0, 1, 'K', 0, 0, 'X', 0, 0},
			"Update message: new tuple kind 'X', want 'N'"},
		{"unterminated name", []byte{'R', 0, 0, 0, 1, 'p', 'u', 'b'}, "Relation message: namespace is not NUL-terminated"},
		{"binary column", []byte{'I', 0, 0, 0, 1, 'N', 0, 1, 'b', 0, 0, 0, 0},
			"new tuple column 0 is in binary format, but the connector requested text"},
		{"trailing bytes", []byte{'Y', 0, 0, 0, 1, 0, 0, 'x'}, "Type message: 1 bytes after the last field"},
		{"message flags", []byte{'M', 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "Message message: flags 2, want 0 or 1"},
	} {
		_, err := parseMessage(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// An Insert into a table without columns is 7 bytes after the type;
// pglogrepl wants 8, so parseMessage decodes it itself.
func TestParseMessageZeroColumnInsert(t *testing.T) {
	m, err := parseMessage([]byte{'I', 0, 0, 0x40, 0x02, 'N', 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	ins, ok := m.(*pglogrepl.InsertMessage)
	if !ok || ins.RelationID != 0x4002 || ins.Tuple == nil || len(ins.Tuple.Columns) != 0 || ins.Type() != pglogrepl.MessageTypeInsert {
		t.Fatalf("got %#v", m)
	}
}
