package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/herder"
)

// Connector directories: `run -c DIR` and `standalone/distributed
// --connectors-dir DIR` read every connector file of a directory (a mounted
// ConfigMap, say) and apply additions, changes and removals while running.

// connectorsDirInterval is how often the directories are read again. A
// ConfigMap's mounted files change a minute or so after the ConfigMap, so
// polling costs nothing in latency, and unlike a file watch it follows the
// atomic swap of the ..data symlink that publishes a ConfigMap update.
var connectorsDirInterval = 2 * time.Second

const (
	connectorsDirFlag  = "connectors-dir"
	connectorsDirUsage = "directory of connector files (YAML, JSON, Strimzi KafkaConnector) applied while running; repeatable"
)

// splitDirs separates the directories among -c paths from the files.
func splitDirs(paths []string) (files, dirs []string) {
	for _, p := range paths {
		if isDir(p) {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
	}
	return files, dirs
}

// loadConfigOrEmpty loads the files; with none but directories given, the
// configuration is empty and the directories hold the connectors.
func loadConfigOrEmpty(files, dirs []string) (*config.File, error) {
	if len(files) == 0 && len(dirs) > 0 {
		return &config.File{Worker: map[string]string{}}, nil
	}
	return loadFiles(files)
}

// isDir reports whether path names a directory (following symlinks).
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// dirFiles lists the connector files of dir: *.yaml, *.yml and *.json, not
// hidden ones, not in subdirectories, sorted. A mounted ConfigMap keeps its
// files in hidden ..data and ..TIMESTAMP directories, behind a symlink per
// key, so it lists each key once.
func dirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("connector directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		p := filepath.Join(dir, name)
		if isDir(p) {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// expandDirs replaces the directories among paths with their files.
func expandDirs(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if !isDir(p) {
			out = append(out, p)
			continue
		}
		files, err := dirFiles(p)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

// readConnectorDirs reads the connectors of every file in dirs. Worker
// properties do not belong there: they are read once, at start.
func readConnectorDirs(dirs []string) ([]config.Connector, error) {
	var out []config.Connector
	seen := map[string]string{}
	for _, d := range dirs {
		files, err := dirFiles(d)
		if err != nil {
			return nil, err
		}
		for _, p := range files {
			f, err := config.LoadFile(p)
			if err != nil {
				return nil, err
			}
			if len(f.Worker) > 0 {
				return nil, fmt.Errorf("%s: worker properties in a connector directory (give them with -c)", p)
			}
			for _, c := range f.Connectors {
				if prev, dup := seen[c.Name]; dup {
					return nil, fmt.Errorf("connector %q is defined in both %s and %s", c.Name, prev, p)
				}
				seen[c.Name] = p
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// storedProps are the properties a worker stores for c: as written, config
// provider references unresolved, plus its name.
func storedProps(c config.Connector) map[string]string {
	props := c.Raw
	if props == nil {
		props = c.Config
	}
	out := make(map[string]string, len(props)+1)
	maps.Copy(out, props)
	out["name"] = c.Name
	return out
}

func initialTarget(state string) herder.TargetState {
	switch state {
	case config.StatePaused:
		return herder.TargetPaused
	case config.StateStopped:
		return herder.TargetStopped
	}
	return ""
}

// connectorWatcher applies connector directories to a worker's herder.
// Only the group's leader writes configurations, so every worker watches
// and the leader applies; each compares the files with the cluster's
// configurations, so a worker that becomes leader, or restarts, applies
// exactly what differs. A connector is deleted when its file goes away
// while the worker runs; one added through the REST API is left alone.
type connectorWatcher struct {
	dirs []string
	log  *slog.Logger
	// applied is what this worker applied, by connector name.
	applied map[string]config.Connector
	// errs is the last error logged, per connector ("" for reading the
	// directories), so that a lasting problem is logged once.
	errs map[string]string
}

func newConnectorWatcher(dirs []string, log *slog.Logger) *connectorWatcher {
	return &connectorWatcher{dirs: dirs, log: log, applied: map[string]config.Connector{}, errs: map[string]string{}}
}

// run applies the directories now and at every interval until ctx ends.
func (w *connectorWatcher) run(ctx context.Context, h *herder.Herder) {
	t := time.NewTicker(connectorsDirInterval)
	defer t.Stop()
	for {
		w.reconcile(ctx, h)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// report logs err for key when it differs from the last one logged.
func (w *connectorWatcher) report(key string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if w.errs[key] == msg {
		return
	}
	w.errs[key] = msg
	if err == nil {
		return
	}
	if key == "" {
		w.log.Error("connector files not applied; the connectors stay as they are", "dirs", strings.Join(w.dirs, ","), "error", err)
	} else {
		w.log.Error("connector file not applied", "connector", key, "error", err)
	}
}

func (w *connectorWatcher) reconcile(ctx context.Context, h *herder.Herder) {
	if !h.Leading() {
		return
	}
	cs, err := readConnectorDirs(w.dirs)
	w.report("", err)
	if err != nil {
		// A file being written, or a mistake: keep every connector as it
		// is rather than delete the ones the directory no longer reads.
		return
	}
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.Name] = true
		err := w.apply(ctx, h, c)
		if ctx.Err() != nil {
			return // shutting down
		}
		w.report(c.Name, err)
	}
	for name := range w.applied {
		if seen[name] || ctx.Err() != nil {
			continue
		}
		err := h.DeleteConnector(ctx, name)
		var he *herder.Error
		if err != nil && !(errors.As(err, &he) && he.Code == 404) {
			w.report(name, fmt.Errorf("deleting: %w", err))
			continue
		}
		w.log.Info("connector file removed: connector deleted", "connector", name)
		delete(w.applied, name)
		delete(w.errs, name)
	}
}

// apply makes connector c's configuration and target state those of its
// file.
func (w *connectorWatcher) apply(ctx context.Context, h *herder.Herder, c config.Connector) error {
	props := storedProps(c)
	prev, had := w.applied[c.Name]
	cur, err := h.ConnectorConfig(ctx, c.Name)
	exists := err == nil
	if !exists || !maps.Equal(cur, props) {
		created, _, err := h.PutConnectorConfig(ctx, c.Name, props, true, initialTarget(c.State))
		if err != nil {
			return err
		}
		w.log.Info("connector file applied", "connector", c.Name, "created", created)
		if created {
			w.applied[c.Name] = c
			return nil
		}
	}
	if !had || prev.State != c.State {
		switch c.State {
		case config.StatePaused:
			err = h.PauseConnector(ctx, c.Name)
		case config.StateStopped:
			err = h.StopConnector(ctx, c.Name)
		default:
			err = h.ResumeConnector(ctx, c.Name)
		}
		if err != nil {
			return fmt.Errorf("state %s: %w", c.State, err)
		}
	}
	w.applied[c.Name] = c
	return nil
}
