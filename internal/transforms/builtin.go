package transforms

import "log/slog"

// Builtin returns every transform Tributary implements, keyed by Java
// class name and short alias. logger receives configuration warnings
// (deprecated options); nil discards them.
func Builtin(logger *slog.Logger) Registry {
	unwrap := func(props map[string]string) (Transform, error) {
		return NewExtractNewRecordState(props, logger)
	}
	return Registry{
		ExtractNewRecordStateClass: unwrap,
		"unwrap":                   unwrap,
	}
}
