package connect

// Transform is a single message transform (Kafka Connect's
// Transformation): it changes a record, or drops it by returning nil. A
// connector's "transforms" property lists them in the order they run.
//
// Each task builds its own transforms, and calls Apply from one goroutine
// at a time, so a transform may cache per-schema state without locking.
// Apply may return rec itself, changed, or a new record; it must not keep
// rec after returning.
//
// A transform that holds resources (connections, files, goroutines) may
// also implement io.Closer, as Kafka's Transformation.close(): the worker
// calls Close once when the task stops, after the last Apply, and logs
// its error. The same holds for a Predicate.
type Transform interface {
	Apply(rec *Record) (*Record, error)
}

// TransformFactory builds a transform from the properties of its alias:
// "transforms.<alias>." removed, "type" included, "predicate" and "negate"
// taken out (they belong to the chain, as in Kafka Connect). It should
// reject a property it does not know or cannot honour rather than ignore
// it: parsing props with a config.Def does both. Its error is reported
// prefixed with "transforms.<alias>".
type TransformFactory func(props map[string]string) (Transform, error)

// Predicate decides whether a transform applies to a record (Kafka
// Connect's org.apache.kafka.connect.transforms.predicates.Predicate):
// "transforms.<alias>.predicate=<name>" applies the transform only to
// records for which predicates.<name> is true ("negate=true": false).
// Test is called under the same rules as Transform.Apply.
type Predicate interface {
	Test(rec *Record) bool
}

// PredicateFactory builds a predicate from the properties of its alias
// ("predicates.<alias>." removed, "type" included).
type PredicateFactory func(props map[string]string) (Predicate, error)
