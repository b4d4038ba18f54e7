package herder

// Leading reports whether this worker leads its group, which a standalone
// worker does once it runs: only the leader writes connector
// configurations, so a worker applying connector files (cmd/tributary's
// --connectors-dir) does so while it leads.
func (h *Herder) Leading() bool { return h.isLeader() }
