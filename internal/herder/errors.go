package herder

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with the HTTP status Kafka Connect's REST API returns
// for it.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// StatusCode is the HTTP status for the REST API.
func (e *Error) StatusCode() int { return e.Code }

func notFound(format string, args ...any) error {
	return &Error{Code: http.StatusNotFound, Msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &Error{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &Error{Code: http.StatusConflict, Msg: fmt.Sprintf(format, args...)}
}

// RequestTargetError says another worker must handle the request: the
// leader for configuration changes, the owner for task restarts. The REST
// layer forwards the request there. An empty URL means no leader is known
// yet (a rebalance is under way).
type RequestTargetError struct {
	Msg string
	URL string
}

func (e *RequestTargetError) Error() string { return e.Msg }

// ForwardURL is where the request must go.
func (e *RequestTargetError) ForwardURL() string { return e.URL }

// ErrRebalanceNeeded is returned while this worker's view of the cluster is
// known to be stale; Kafka Connect answers 409 with this text.
var ErrRebalanceNeeded = &Error{Code: http.StatusConflict,
	Msg: "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == http.StatusNotFound
}
