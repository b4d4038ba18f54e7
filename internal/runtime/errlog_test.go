package runtime

import (
	"fmt"
	"testing"
)

func TestErrorLogKeepsTheLastNewestFirst(t *testing.T) {
	var l ErrorLog
	for i := range errorLogSize + 3 {
		l.Add(RecordError{Topic: "t", SourceOffset: map[string]any{"lsn": int64(i)}, Message: fmt.Sprint(i)})
	}
	got := l.Last()
	if len(got) != errorLogSize {
		t.Fatalf("%d errors kept, want %d", len(got), errorLogSize)
	}
	if got[0].Message != fmt.Sprint(errorLogSize+2) || got[len(got)-1].Message != "3" {
		t.Fatalf("newest %s, oldest %s; want %d and 3", got[0].Message, got[len(got)-1].Message, errorLogSize+2)
	}
}
