//go:build !linux

package exepages

import "errors"

// Release does nothing outside Linux: there is no MADV_PAGEOUT.
func Release() (Released, error) { return Released{}, errors.ErrUnsupported }
