package config

// Prefixes returns the prefixes whose properties Parse accepts without a
// definition (AllowPrefix), for generated references and schemas.
func (d *Def) Prefixes() []string { return append([]string(nil), d.prefixes...) }

// Named returns the list properties whose values name further property
// prefixes (AllowNamed).
func (d *Def) Named() []string { return append([]string(nil), d.named...) }
