//go:build !linux

package postgres

import "errors"

// setRcvLowat is Linux's only: elsewhere the catch-up reader sleeps
// between small reads instead.
func setRcvLowat(uintptr, int) error { return errors.ErrUnsupported }
