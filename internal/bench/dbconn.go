package bench

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/go-sql-driver/mysql" // "mysql" driver for MariaDB

	"github.com/jackc/pgx/v5"
)

// dbConn is one connection to PostgreSQL ("pgx": pgx directly) or MariaDB
// ("mysql": go-sql-driver).
type dbConn interface {
	Exec(ctx context.Context, sql string, args ...any) error
	// QueryInt runs a query returning one integer; ok is false when it
	// returns no row.
	QueryInt(ctx context.Context, sql string) (n int64, ok bool, err error)
	Close()
}

func openConn(ctx context.Context, driver, dsn string) (dbConn, error) {
	switch driver {
	case "pgx":
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		return pgConn{c}, nil
	case "mysql":
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to MariaDB: %w", err)
		}
		return myConn{db}, nil
	}
	return nil, fmt.Errorf("unknown driver %q", driver)
}

type pgConn struct{ c *pgx.Conn }

func (p pgConn) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := p.c.Exec(ctx, sql, args...)
	return err
}

func (p pgConn) QueryInt(ctx context.Context, sql string) (int64, bool, error) {
	var n int64
	err := p.c.QueryRow(ctx, sql).Scan(&n)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	return n, err == nil, err
}

func (p pgConn) Close() { _ = p.c.Close(context.Background()) }

type myConn struct{ db *sql.DB }

func (m myConn) Exec(ctx context.Context, q string, args ...any) error {
	_, err := m.db.ExecContext(ctx, q, args...)
	return err
}

func (m myConn) QueryInt(ctx context.Context, q string) (int64, bool, error) {
	var n int64
	err := m.db.QueryRowContext(ctx, q).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return n, err == nil, err
}

func (m myConn) Close() { _ = m.db.Close() }
