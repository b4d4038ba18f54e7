package transforms

import (
	"log/slog"

	"github.com/tributary-io/tributary/connect"
)

const kafkaPkg = "org.apache.kafka.connect.transforms."

// kafkaTransforms are Kafka Connect's bundled transforms, by class name.
func kafkaTransforms(logger *slog.Logger) map[string]Factory {
	m := map[string]Factory{
		kafkaPkg + "Filter":          newFilter,
		kafkaPkg + "RegexRouter":     newRegexRouter,
		kafkaPkg + "TimestampRouter": newTimestampRouter,
		kafkaPkg + "ValueToKey":      newValueToKey,
		kafkaPkg + "DropHeaders":     newDropHeaders,
		kafkaPkg + "InsertHeader":    newInsertHeader,
	}
	sideVariants(m, kafkaPkg+"Flatten", newFlatten)
	sideVariants(m, kafkaPkg+"Cast", newCast)
	sideVariants(m, kafkaPkg+"SetSchemaMetadata", newSetSchemaMetadata)
	sideVariants(m, kafkaPkg+"TimestampConverter", newTimestampConverter)
	sideVariants(m, kafkaPkg+"HeaderFrom", newHeaderFrom)
	sideVariants(m, kafkaPkg+"InsertField", newInsertField)
	sideVariants(m, kafkaPkg+"ReplaceField", newReplaceField(logger))
	sideVariants(m, kafkaPkg+"MaskField", newMaskField)
	sideVariants(m, kafkaPkg+"ExtractField", newExtractField)
	sideVariants(m, kafkaPkg+"HoistField", newHoistField)
	return m
}

// Filter drops every record; it is meant to be used with a predicate.
type Filter struct{}

func newFilter(props map[string]string) (Transform, error) {
	if _, err := parseProps(nil, props); err != nil {
		return nil, err
	}
	return Filter{}, nil
}

// Apply implements Transform.
func (Filter) Apply(*connect.Record) (*connect.Record, error) { return nil, nil }
