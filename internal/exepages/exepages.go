// Package exepages gives back the pages of the executable that only
// start-up used.
//
// A Go binary touches a page or more of every package that has an init
// function, and the kernel maps up to 64 KB of the file around each page
// touched: a tributary process holds 25-35 MB of its own executable after
// start, most of which (package initialisation, flag and configuration
// parsing, validation) it never runs again. Released pages that are used
// later fault back in at their next use; the rest stop counting against
// the process's RSS and its cgroup, as Linux frees its own __init memory
// once boot is done.
package exepages

// Released is what Release did.
type Released struct {
	// Mapped is the size of the executable's read-only mappings advised.
	Mapped int64
	// FileBefore and FileAfter are the process's RssFile (bytes) around
	// the call.
	FileBefore, FileAfter int64
}
