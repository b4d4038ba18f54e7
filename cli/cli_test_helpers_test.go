package cli

// builtin is the command's state with the built-in plugins only.
func builtin() *globalFlags { return &globalFlags{} }
