package postgres

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// connectFailure puts the real cause of a failed connection first. With
// sslmode=prefer (pgx's and libpq's default) pgx tries TLS, then plain,
// and reports every attempt in order, so a wrong password read
// "tls error: server refused TLS connection" before the server's
// "password authentication failed". The attempt the server answered
// with an error of its own (a PgError) is the cause; failing that, the
// last attempt. The original error stays wrapped for errors.As.
type connectFailure struct {
	cause  error
	others []error
	err    error
}

// explainConnect returns err with its cause first when pgx reports more
// than one connection attempt, and err unchanged otherwise.
func explainConnect(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	j, ok := ce.Unwrap().(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	attempts := j.Unwrap()
	if len(attempts) < 2 {
		return err
	}
	cause := len(attempts) - 1
	for i, a := range attempts {
		var pe *pgconn.PgError
		if errors.As(a, &pe) {
			cause = i
			break
		}
	}
	f := &connectFailure{cause: attempts[cause], err: err}
	for i, a := range attempts {
		if i != cause {
			f.others = append(f.others, a)
		}
	}
	return f
}

func (f *connectFailure) Error() string {
	var b strings.Builder
	b.WriteString(f.cause.Error())
	for _, o := range f.others {
		b.WriteString(" (also tried: ")
		b.WriteString(o.Error())
		b.WriteString(")")
	}
	return b.String()
}

func (f *connectFailure) Unwrap() error { return f.err }
