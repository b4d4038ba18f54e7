package connect

import (
	"errors"
	"fmt"
)

// SchemaChangeError is a sink task's way of saying that a record cannot
// be applied because its table's schema changed in a way the target does
// not (yet) follow: a type change the task may not make, a column it may
// not drop, DDL the database refused. It is not the record's fault, and
// the records after it in its partition depend on it, so the sink runtime
// parks the record's topic-partition (state PAUSED_SCHEMA) instead of
// failing the task or sending the record to the dead letter queue; the
// other partitions keep flowing, and the operator resumes it once the
// target is fixed.
type SchemaChangeError struct {
	// Table is the target table, as the task names it.
	Table string
	// Reason says what could not be applied, for the log and the status.
	Reason string
	// Err is the underlying error (the database's), if any.
	Err error
}

func (e *SchemaChangeError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("schema change of %s cannot be applied: %s: %v", e.Table, e.Reason, e.Err)
	}
	return fmt.Sprintf("schema change of %s cannot be applied: %s", e.Table, e.Reason)
}

func (e *SchemaChangeError) Unwrap() error { return e.Err }

// AsSchemaChange returns the SchemaChangeError err wraps, or nil.
func AsSchemaChange(err error) *SchemaChangeError {
	var sc *SchemaChangeError
	if errors.As(err, &sc) {
		return sc
	}
	return nil
}
