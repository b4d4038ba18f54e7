package postgres

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// errStreamEnded is returned when the server ends the replication stream
// (CopyDone): it does so when it shuts down.
var errStreamEnded = errors.New("replication stream ended by the server")

// errMetadataConnLost marks the loss of the task's ordinary (metadata,
// heartbeat) connection, which the stream cannot do without.
var errMetadataConnLost = errors.New("metadata connection lost")

// metadataLost returns a retriable error when err cost the task its
// metadata connection, and nil otherwise (including for a nil err).
func (t *pgTask) metadataLost(err error) error {
	if err == nil || t.conn == nil || !t.conn.IsClosed() {
		return nil
	}
	return fmt.Errorf("%w to %s:%d: %w", errMetadataConnLost, t.cfg.host, t.cfg.port, err)
}

// retriable reports whether err is a failure that reconnecting later can
// cure: the server is shutting down, restarting or unreachable, or the
// connection broke. Debezium's PostgresErrorHandler treats the same
// conditions as retriable (connection-class SQL states, admin shutdown,
// I/O errors).
func retriable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errMetadataConnLost) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too many connections: a restart's walsender may linger
			return true
		case pgErr.Code == "55006": // replication slot still active from before the restart
			return true
		}
		return false
	}
	if errors.Is(err, errStreamEnded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return pgconn.SafeToRetry(err)
}
