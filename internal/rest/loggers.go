package rest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Loggers maps Kafka Connect's /admin/loggers API onto slog. The root
// logger is a slog.LevelVar. A named logger applies to records of loggers
// created with a "logger" attribute equal to the name or below it
// (dotted), and to records carrying a "connector" attribute equal to the
// name, so PUT /admin/loggers/my-connector {"level":"DEBUG"} turns on debug
// logging for one connector.
type Loggers struct {
	root *slog.LevelVar
	mu   sync.RWMutex
	set  map[string]*loggerEntry
	// rootModified is when the root level was last changed through the API.
	rootModified *int64
	now          func() time.Time
}

type loggerEntry struct {
	level    slog.Level
	modified int64
}

// LoggerLevel is Kafka Connect's LoggerLevel entity.
type LoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

// NewLoggers wraps the root level.
func NewLoggers(root *slog.LevelVar) *Loggers {
	if root == nil {
		root = new(slog.LevelVar)
	}
	return &Loggers{root: root, set: map[string]*loggerEntry{}, now: time.Now}
}

const (
	levelTrace = slog.LevelDebug - 4
	levelFatal = slog.LevelError + 4
	levelOff   = slog.Level(math.MaxInt32)
	levelAll   = slog.Level(math.MinInt32)
)

// ParseLevel accepts log4j level names (case-insensitive).
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ALL":
		return levelAll, true
	case "TRACE":
		return levelTrace, true
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	case "FATAL":
		return levelFatal, true
	case "OFF":
		return levelOff, true
	}
	return 0, false
}

// LevelName renders a level as log4j names it.
func LevelName(l slog.Level) string {
	switch {
	case l == levelAll:
		return "ALL"
	case l == levelOff:
		return "OFF"
	case l <= levelTrace:
		return "TRACE"
	case l <= slog.LevelDebug:
		return "DEBUG"
	case l <= slog.LevelInfo:
		return "INFO"
	case l <= slog.LevelWarn:
		return "WARN"
	case l <= slog.LevelError:
		return "ERROR"
	}
	return "FATAL"
}

// SetLevel sets namespace (and every explicitly set logger below it) to
// level and returns the affected logger names, sorted, as Kafka Connect
// does.
func (l *Loggers) SetLevel(namespace, level string) ([]string, error) {
	lv, ok := ParseLevel(level)
	if !ok {
		return nil, fmt.Errorf("invalid log level '%s'", level)
	}
	now := l.now().UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	if namespace == "root" {
		l.root.Set(lv)
		l.rootModified = &now
		affected := []string{"root"}
		for n, e := range l.set {
			e.level, e.modified = lv, now
			affected = append(affected, n)
		}
		sort.Strings(affected)
		return affected, nil
	}
	affected := []string{namespace}
	l.set[namespace] = &loggerEntry{level: lv, modified: now}
	for n, e := range l.set {
		if strings.HasPrefix(n, namespace+".") {
			e.level, e.modified = lv, now
			affected = append(affected, n)
		}
	}
	sort.Strings(affected)
	return affected, nil
}

// Level returns a logger's level, or false for loggers never configured.
func (l *Loggers) Level(name string) (LoggerLevel, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if name == "root" {
		return LoggerLevel{Level: LevelName(l.root.Level()), LastModified: l.rootModified}, true
	}
	e, ok := l.set[name]
	if !ok {
		return LoggerLevel{}, false
	}
	m := e.modified
	return LoggerLevel{Level: LevelName(e.level), LastModified: &m}, true
}

// All returns every configured logger and root.
func (l *Loggers) All() map[string]LoggerLevel {
	out := map[string]LoggerLevel{}
	l.mu.RLock()
	names := make([]string, 0, len(l.set))
	for n := range l.set {
		names = append(names, n)
	}
	l.mu.RUnlock()
	for _, n := range append(names, "root") {
		if lv, ok := l.Level(n); ok {
			out[n] = lv
		}
	}
	return out
}

// effective returns the level for a logger name and connector.
func (l *Loggers) effective(logger, connector string) slog.Level {
	l.mu.RLock()
	defer l.mu.RUnlock()
	best, bestLen := l.root.Level(), -1
	for n, e := range l.set {
		if (logger == n || strings.HasPrefix(logger, n+".")) && len(n) > bestLen {
			best, bestLen = e.level, len(n)
		}
	}
	if bestLen < 0 && connector != "" {
		if e, ok := l.set[connector]; ok {
			best = e.level
		}
	}
	return best
}

func (l *Loggers) minLevel() slog.Level {
	l.mu.RLock()
	defer l.mu.RUnlock()
	m := l.root.Level()
	for _, e := range l.set {
		if e.level < m {
			m = e.level
		}
	}
	return m
}

// Handler wraps inner so that records are filtered by the configured
// levels.
func (l *Loggers) Handler(inner slog.Handler) slog.Handler {
	return &levelHandler{l: l, inner: inner}
}

type levelHandler struct {
	l         *Loggers
	inner     slog.Handler
	logger    string
	connector string
}

func (h *levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	// The connector attribute may arrive with the record itself, so only
	// reject what no configured logger would accept.
	if h.logger != "" || h.connector != "" {
		return lv >= h.l.effective(h.logger, h.connector) && h.inner.Enabled(ctx, lv)
	}
	return lv >= h.l.minLevel() && h.inner.Enabled(ctx, lv)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	logger, connector := h.logger, h.connector
	if logger == "" || connector == "" {
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "logger":
				if logger == "" {
					logger = a.Value.String()
				}
			case "connector":
				if connector == "" {
					connector = a.Value.String()
				}
			}
			return true
		})
	}
	if r.Level < h.l.effective(logger, connector) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	for _, a := range as {
		switch a.Key {
		case "logger":
			c.logger = a.Value.String()
		case "connector":
			c.connector = a.Value.String()
		}
	}
	c.inner = h.inner.WithAttrs(as)
	return &c
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}
