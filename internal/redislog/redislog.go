// Package redislog routes go-redis's own log lines to slog.
//
// go-redis prints through one package-level logger (redis.SetLogger) to
// standard error, in its own format: reconnection attempts of every pool
// ("connection pool: failed to dial after 5 attempts") repeated while a
// server is down, next to the warnings Tributary logs itself with the
// property and the retry. Routed to slog at debug level they keep the
// process's log format and stay out of the way unless asked for.
//
// The logger is a global of go-redis, read without synchronisation by its
// connection pools: it is set once (sync.Once), by Init, which every
// constructor of a Redis client in Tributary calls before creating its
// client, so no pool of ours reads it while it is written.
package redislog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

var once sync.Once

// Init routes go-redis's log lines to slog.Default() at debug level; only
// the first call has an effect.
func Init() {
	once.Do(func() { goredis.SetLogger(logger{}) })
}

type logger struct{}

// Printf logs through the default logger at the time of the line, so a
// logger installed after Init (the command's) is the one used.
func (logger) Printf(ctx context.Context, format string, v ...any) {
	l := slog.Default()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
