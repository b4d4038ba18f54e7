package runtime

import (
	"sync"
	"time"
)

// RecordError is a record the runtime could not deliver, with where it
// came from, so an operator can find it in the source (the console shows
// the last ones).
type RecordError struct {
	At    time.Time `json:"at"`
	Topic string    `json:"topic"`
	// SourcePartition and SourceOffset are the record's coordinates in the
	// source (e.g. {"server":"db1"} and {"lsn":...} or {"file","pos"}).
	SourcePartition map[string]any `json:"source_partition,omitempty"`
	SourceOffset    map[string]any `json:"source_offset,omitempty"`
	Message         string         `json:"message"`
}

// errorLogSize bounds the errors kept per task.
const errorLogSize = 20

// ErrorLog keeps a task's most recent record errors.
type ErrorLog struct {
	mu   sync.Mutex
	errs []RecordError
}

// Add records e, dropping the oldest beyond errorLogSize.
func (l *ErrorLog) Add(e RecordError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == errorLogSize {
		copy(l.errs, l.errs[1:])
		l.errs = l.errs[:errorLogSize-1]
	}
	l.errs = append(l.errs, e)
}

// Last returns the recorded errors, newest first.
func (l *ErrorLog) Last() []RecordError {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RecordError, len(l.errs))
	for i, e := range l.errs {
		out[len(l.errs)-1-i] = e
	}
	return out
}
