package runtime

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/kafka"
)

// EmbeddedBrokerDir is the embedded broker's data directory by default,
// next to the offsets file.
const EmbeddedBrokerDir = "tributary-broker"

// EmbeddedBrokerDataDir is where a worker without bootstrap.servers keeps
// the embedded broker's data: embedded.broker.data.dir when set (empty:
// in memory), else tributary-broker/ beside offsetsFile. Offsets that
// outlive the events they point after made a second run resume past a
// snapshot it no longer had: no snapshot, no events, no explanation.
// offsetsFile is empty when the offsets are not in a file (they are
// then in the broker itself, and lost or kept with it).
func EmbeddedBrokerDataDir(wv *config.Values, offsetsFile string) string {
	if wv.IsSet("embedded.broker.data.dir") || offsetsFile == "" {
		return wv.String("embedded.broker.data.dir")
	}
	return filepath.Join(filepath.Dir(offsetsFile), EmbeddedBrokerDir)
}

// StartWorkerBroker starts the embedded broker of a worker without
// bootstrap.servers (embedded.broker.port, EmbeddedBrokerDataDir) and
// warns when the offsets file holds offsets the broker has no events
// for.
func StartWorkerBroker(wv *config.Values, offsetsFile string, log *slog.Logger) (*kafka.Embedded, string, error) {
	dir := EmbeddedBrokerDataDir(wv, offsetsFile)
	if offsetsFile != "" && hasContent(offsetsFile) && !hasContent(dir) {
		log.Warn("the offsets file holds offsets of an earlier run, but the embedded broker starts without that run's events: connectors resume after them, so the earlier snapshot and events are not in this broker; delete the offsets file to take the snapshot again",
			"offset.storage.file.filename", offsetsFile, "embedded.broker.data.dir", dir)
	}
	emb, err := kafka.StartEmbedded(int(wv.Int("embedded.broker.port")), dir, log)
	if err != nil {
		return nil, "", fmt.Errorf("embedded broker (embedded.broker.port=%d, embedded.broker.data.dir=%q): %w", wv.Int("embedded.broker.port"), dir, err)
	}
	return emb, dir, nil
}

// hasContent reports whether path is a non-empty file or a directory
// with entries ("" has none: the in-memory broker).
func hasContent(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		return fi.Size() > 2 // more than "{}"
	}
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) > 0
}
