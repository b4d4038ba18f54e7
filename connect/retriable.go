package connect

import "errors"

// RetriableError marks a task failure that a restart of the task can
// recover from: the database connection was lost, the server is shutting
// down or restarting, a network path is cut. It is Kafka Connect's
// RetriableException: the runtime restarts the task from its committed
// offsets after retriable.restart.connector.wait.ms, up to
// errors.max.retries times, instead of failing it.
type RetriableError struct {
	Err error
}

func (e *RetriableError) Error() string { return e.Err.Error() }
func (e *RetriableError) Unwrap() error { return e.Err }

// Retriable wraps err as a RetriableError; nil stays nil.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	var r *RetriableError
	if errors.As(err, &r) {
		return err
	}
	return &RetriableError{Err: err}
}

// IsRetriable reports whether err, or an error it wraps, is retriable.
func IsRetriable(err error) bool {
	var r *RetriableError
	return errors.As(err, &r)
}
