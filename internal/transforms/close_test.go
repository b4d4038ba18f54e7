package transforms

import (
	"errors"
	"slices"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// closer records when a transform or predicate is closed.
type closer struct {
	name   string
	closed *[]string
	err    error
}

func (c *closer) Close() error { *c.closed = append(*c.closed, c.name); return c.err }

type closingTransform struct{ closer }

func (*closingTransform) Apply(rec *connect.Record) (*connect.Record, error) { return rec, nil }

type closingPredicate struct{ closer }

func (*closingPredicate) Test(*connect.Record) bool { return true }

// TestChainClose checks Kafka's TransformationChain.close(): every
// transform and predicate that holds resources is closed once, a
// predicate shared by two transforms included; what the task will never
// run (an unused predicate, everything after a failed Build) is closed by
// Build itself.
func TestChainClose(t *testing.T) {
	var closed []string
	r := Builtin(nil)
	r["com.example.Res"] = Class{Transform: func(props map[string]string) (connect.Transform, error) {
		if props["fail"] == "true" {
			return nil, errors.New("refused")
		}
		c := &closingTransform{closer{name: "t:" + props["name"], closed: &closed}}
		if props["closeFails"] == "true" {
			c.err = errors.New("disk gone")
		}
		return c, nil
	}}
	r["com.example.Pred"] = Class{Predicate: func(props map[string]string) (connect.Predicate, error) {
		return &closingPredicate{closer{name: "p:" + props["name"], closed: &closed}}, nil
	}}
	props := map[string]string{
		"transforms":        "a,b",
		"transforms.a.type": "com.example.Res", "transforms.a.name": "a", "transforms.a.predicate": "shared",
		"transforms.b.type": "com.example.Res", "transforms.b.name": "b", "transforms.b.predicate": "shared",
		"transforms.b.closeFails": "true",
		"predicates":              "shared,unused",
		"predicates.shared.type":  "com.example.Pred", "predicates.shared.name": "shared",
		"predicates.unused.type": "com.example.Pred", "predicates.unused.name": "unused",
	}
	vals, err := Def().Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := r.Build(vals)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p:unused"}; !slices.Equal(closed, want) {
		t.Fatalf("closed by Build = %v, want %v", closed, want)
	}
	closed = nil
	err = chain.Close()
	if want := []string{"t:a", "p:shared", "t:b"}; !slices.Equal(closed, want) {
		t.Errorf("closed = %v, want %v", closed, want)
	}
	checkErr(t, err, `closing transform "b": disk gone`)

	closed = nil
	props["transforms"] = "a,b,c"
	props["transforms.c.type"] = "com.example.Res"
	props["transforms.c.fail"] = "true"
	vals, err = Def().Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(vals); err == nil {
		t.Fatal("Build succeeded with a failing transform")
	}
	slices.Sort(closed)
	if want := []string{"p:shared", "p:unused", "t:a", "t:b"}; !slices.Equal(closed, want) {
		t.Errorf("closed after a failed Build = %v, want %v", closed, want)
	}
}
