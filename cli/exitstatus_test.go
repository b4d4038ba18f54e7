package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExitStatus(t *testing.T) {
	stopped, stop := context.WithCancel(context.Background())
	stop()
	running := context.Background()
	failed := errors.New("connector \"c\": bootstrap.servers unreachable")
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		want    int
		wantErr string
	}{
		{name: "success", ctx: running, err: nil, want: 0},
		{name: "failure", ctx: running, err: failed, want: 1, wantErr: "error: connector \"c\": bootstrap.servers unreachable"},
		{name: "exit code", ctx: running, err: &exitError{code: 3, err: failed}, want: 3, wantErr: "bootstrap.servers unreachable"},
		{name: "signal while starting", ctx: stopped, err: fmt.Errorf("opening config store: %w", context.Canceled), want: 0},
		{name: "signal and a real failure", ctx: stopped, err: failed, want: 1, wantErr: "bootstrap.servers unreachable"},
		// Canceled without a signal is some other context's doing: report it.
		{name: "canceled without a signal", ctx: running, err: context.Canceled, want: 1, wantErr: "error: context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := exitStatus(tc.ctx, tc.err, &stderr); got != tc.want {
				t.Errorf("exit status %d, want %d", got, tc.want)
			}
			if tc.wantErr == "" && stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.wantErr)
			}
		})
	}
}
