// Package protobuf is Confluent Schema Registry's PROTOBUF schema type for
// Tributary: .proto parsing (github.com/bufbuild/protocompile), schema
// references as imports, and compatibility as Confluent's protobuf-provider
// SchemaDiff decides it.
package protobuf

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// mainFile is the name the schema being parsed gets; references keep
// theirs (the import paths that name them).
const mainFile = "__tributary_schema__.proto"

// Ref identifies where a referenced file came from, for the compatibility
// rule that compares a type taken from two different references.
type Ref struct {
	Subject string
	Version int
}

// Dependency is a referenced file: its import path, text and origin.
type Dependency struct {
	Name   string
	Schema string
	Ref    Ref
}

// Schema is a parsed .proto file with its dependencies linked.
type Schema struct {
	File protoreflect.FileDescriptor
	// refs maps a dependency's file path to its reference; files not in
	// it (well-known imports) have none.
	refs map[string]Ref
	// Canonical identifies the schema regardless of formatting and
	// comments: the deterministic encoding of its descriptor without
	// source information, with its dependencies' names.
	Canonical string
}

// Parse compiles a .proto schema; deps are the files it imports, found by
// their import path. Google's well-known imports are always available.
func Parse(text string, deps []Dependency) (*Schema, error) {
	srcs := map[string]string{mainFile: text}
	refs := map[string]Ref{}
	for _, d := range deps {
		if d.Name == mainFile {
			return nil, fmt.Errorf("reference name %q is reserved", d.Name)
		}
		srcs[d.Name] = d.Schema
		refs[d.Name] = d.Ref
	}
	var msgs []string
	rep := reporter.NewReporter(func(err reporter.ErrorWithPos) error {
		msgs = append(msgs, err.Error())
		return nil
	}, nil)
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)}),
		Reporter: rep,
	}
	files, err := c.Compile(context.Background(), mainFile)
	if err != nil {
		if len(msgs) > 0 {
			return nil, fmt.Errorf("invalid protobuf schema: %s", strings.ReplaceAll(strings.Join(msgs, "; "), mainFile+":", "line "))
		}
		var pe protocompile.PanicError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("invalid protobuf schema: %v", pe.Value)
		}
		return nil, fmt.Errorf("invalid protobuf schema: %w", err)
	}
	f := files[0]
	return &Schema{File: f, refs: refs, Canonical: canonical(f)}, nil
}

func canonical(f linker.File) string {
	fdp := protodesc.ToFileDescriptorProto(f)
	fdp.SourceCodeInfo = nil
	fdp.Name = nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(fdp)
	if err != nil {
		return ""
	}
	deps := make([]string, 0, f.Imports().Len())
	for i := 0; i < f.Imports().Len(); i++ {
		deps = append(deps, f.Imports().Get(i).Path())
	}
	sort.Strings(deps)
	return string(b) + "\x00" + strings.Join(deps, ",")
}

// Messages lists the top-level message types in declaration order, which
// is what message index 0, 1... of Confluent's wire format count.
func (s *Schema) Messages() []protoreflect.MessageDescriptor {
	var out []protoreflect.MessageDescriptor
	ms := s.File.Messages()
	for i := 0; i < ms.Len(); i++ {
		out = append(out, ms.Get(i))
	}
	return out
}
