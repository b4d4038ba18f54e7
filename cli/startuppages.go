package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/tributary-io/tributary/internal/exepages"
)

// startupSettled is how long the worker must stay ready before its
// start-up is taken as done: a standalone worker is briefly ready
// between joining and creating the tasks of the connectors it was
// given.
const startupSettled = time.Second

// releasePages gives back the executable's pages mapped so far. A worker
// does it twice: once its configuration is parsed, so that the pages of
// package initialisation and the command line (25 MB and more of a
// tributary binary) are not held while its connectors start and stream,
// and once it has started (releaseWhenSettled). What runs again faults
// back in at its next use.
func releasePages(log *slog.Logger, after string) {
	r, err := exepages.Release()
	if err != nil {
		log.Debug("kept the executable's pages", "after", after, "error", err)
		return
	}
	log.Debug("released the executable's pages", "after", after, "rss_file_before_kb", r.FileBefore>>10, "rss_file_after_kb", r.FileAfter>>10)
}

// releaseWhenSettled releases the executable's pages once the worker has
// been ready for startupSettled: what only starting the herder, the
// connectors and their tasks ran is not held while they stream.
func releaseWhenSettled(ctx context.Context, ready func() (bool, string), log *slog.Logger) {
	const poll = 100 * time.Millisecond
	t := time.NewTicker(poll)
	defer t.Stop()
	var since time.Time
	for {
		if ok, _ := ready(); !ok {
			since = time.Time{}
		} else if since.IsZero() {
			since = time.Now()
		} else if time.Since(since) >= startupSettled {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	releasePages(log, "start-up")
}
