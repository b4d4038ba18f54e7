package avro

import (
	"context"
	"fmt"
	"sync"

	"github.com/linkedin/goavro/v2"
)

// Registrar registers a schema under a subject and returns its id;
// *registry.Client is one, and caches the answer.
type Registrar interface {
	Register(ctx context.Context, subject, schema string) (int, error)
}

// SchemaSource fetches a schema by id; *registry.Client is one.
type SchemaSource interface {
	SchemaByID(ctx context.Context, id int) (string, error)
}

// Serde encodes and decodes framed Avro. Codecs are compiled once per schema
// text and once per id, because compiling is far costlier than encoding.
type Serde struct {
	reg Registrar
	src SchemaSource

	mu     sync.RWMutex
	byText map[string]*goavro.Codec
	byID   map[int]*goavro.Codec
}

// NewSerde returns a Serde; reg may be nil for decode-only use and src nil
// for encode-only use.
func NewSerde(reg Registrar, src SchemaSource) *Serde {
	return &Serde{reg: reg, src: src, byText: map[string]*goavro.Codec{}, byID: map[int]*goavro.Codec{}}
}

func (s *Serde) codecForText(schema string) (*goavro.Codec, error) {
	s.mu.RLock()
	c, ok := s.byText[schema]
	s.mu.RUnlock()
	if ok {
		return c, nil
	}
	c, err := goavro.NewCodec(schema)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.byText[schema] = c
	s.mu.Unlock()
	return c, nil
}

// Encode registers schema under subject (a cache hit after the first time)
// and returns native, as goavro understands it, framed with the schema id.
func (s *Serde) Encode(ctx context.Context, subject, schema string, native any) ([]byte, error) {
	if s.reg == nil {
		return nil, fmt.Errorf("encode for subject %s: no registrar configured", subject)
	}
	codec, err := s.codecForText(schema)
	if err != nil {
		return nil, fmt.Errorf("encode for subject %s: schema: %w", subject, err)
	}
	id, err := s.reg.Register(ctx, subject, schema)
	if err != nil {
		return nil, fmt.Errorf("encode for subject %s: %w", subject, err)
	}
	out, err := AppendFrame(nil, id, nil)
	if err != nil {
		return nil, err
	}
	out, err = codec.BinaryFromNative(out, native)
	if err != nil {
		return nil, fmt.Errorf("encode for subject %s with schema id %d: %w", subject, id, err)
	}
	return out, nil
}

// Decode reads a framed message, fetching its writer schema by id the first
// time it is seen.
func (s *Serde) Decode(ctx context.Context, msg []byte) (native any, id int, err error) {
	id, payload, err := SplitFrame(msg)
	if err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	codec, ok := s.byID[id]
	s.mu.RUnlock()
	if !ok {
		if s.src == nil {
			return nil, id, fmt.Errorf("decode schema id %d: no schema source configured", id)
		}
		text, err := s.src.SchemaByID(ctx, id)
		if err != nil {
			return nil, id, fmt.Errorf("decode schema id %d: %w", id, err)
		}
		if codec, err = s.codecForText(text); err != nil {
			return nil, id, fmt.Errorf("decode schema id %d: schema: %w", id, err)
		}
		s.mu.Lock()
		s.byID[id] = codec
		s.mu.Unlock()
	}
	native, rest, err := codec.NativeFromBinary(payload)
	if err != nil {
		return nil, id, fmt.Errorf("decode with schema id %d: %w", id, err)
	}
	if len(rest) > 0 {
		return nil, id, fmt.Errorf("decode with schema id %d: %d bytes left after the value", id, len(rest))
	}
	return native, id, nil
}
