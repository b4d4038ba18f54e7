"""Reads records written by Tributary's JsonSchemaConverter the way a Python
consumer would: confluent-kafka-python's registry client fetches the schema
by the id in the record, its JSONDeserializer checks the wire format and
validates the payload, and python-jsonschema validates it once more.

Usage: decode_json_schema.py REGISTRY_URL TOPIC < records (hex, one a line).
Prints one JSON object per record: the id, the decoded value and whether
jsonschema accepted it. Any failure exits non-zero.
"""
import json
import struct
import sys

import jsonschema
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main(url, topic):
    client = SchemaRegistryClient({"url": url})
    for line in sys.stdin:
        data = bytes.fromhex(line.strip())
        magic, schema_id = struct.unpack(">bI", data[:5])
        registered = client.get_schema(schema_id)
        schema = json.loads(registered.schema_str)
        value = JSONDeserializer(registered.schema_str)(data, SerializationContext(topic, MessageField.VALUE))
        jsonschema.validate(instance=json.loads(data[5:]), schema=schema)
        print(json.dumps({"magic": magic, "id": schema_id, "type": registered.schema_type, "value": value}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
