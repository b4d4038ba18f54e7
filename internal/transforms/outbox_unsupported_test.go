package transforms

import (
	"strings"
	"testing"
)

// Properties the EventRouter does not implement are refused, never
// accepted without effect.
func TestEventRouterRefusesUnimplemented(t *testing.T) {
	for _, tc := range []struct{ prop, value string }{
		{"tracing.span.context.field", "tracingspancontext"},
		{"tracing.operation.name", "debezium-read"},
		{"tracing.with.context.field.only", "true"},
		{"field.name.adjustment.mode", "avro"},
	} {
		_, err := newEventRouter(nil)(map[string]string{tc.prop: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.prop) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s=%s: error %v, want it refused naming the property", tc.prop, tc.value, err)
		}
	}
	if _, err := newEventRouter(nil)(map[string]string{"field.name.adjustment.mode": "none"}); err != nil {
		t.Errorf("field.name.adjustment.mode=none: %v", err)
	}
}
