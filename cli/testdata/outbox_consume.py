"""Read routed outbox events with confluent-kafka-python and print them as JSON.

Usage: outbox_consume.py BOOTSTRAP REGISTRY_URL FORMAT TOPIC:COUNT...

FORMAT is "avro" (Confluent wire format, decoded with confluent-kafka's own
MessageSerializer against the registry) or "json" (the key as a UTF-8
string, the value parsed as JSON). Each topic's partition 0 is read from the
beginning until COUNT records have arrived (all topics in parallel); one JSON line per record:
{"topic", "offset", "key", "headers", "value", "value_schema_type"}, where
value_schema_type is the Avro type of the writer schema the registry holds
for the value ("string" or "record", the non-null branch of an optional
value's union; null for json). The script knows
nothing of Tributary: it is the independent consumer of the end-to-end
outbox tests.
"""

import json
import struct
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def main():
    bootstrap, registry, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
    wanted = []
    for arg in sys.argv[4:]:
        topic, count = arg.rsplit(":", 1)
        wanted.append((topic, int(count)))
    serializer = client = None
    if fmt == "avro":
        from confluent_kafka.avro.cached_schema_registry_client import CachedSchemaRegistryClient
        from confluent_kafka.avro.serializer.message_serializer import MessageSerializer

        client = CachedSchemaRegistryClient({"url": registry})
        serializer = MessageSerializer(client)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "tributary-outbox-check",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 50,
    })
    # All topics at once: librdkafka fetches them in parallel.
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING) for topic, _ in wanted])
    missing = dict(wanted)
    deadline = time.monotonic() + 60
    while any(n > 0 for n in missing.values()):
        if time.monotonic() > deadline:
            raise SystemExit("timed out; records still missing: %r" % missing)
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit("%s: %s" % (msg.topic(), msg.error()))
        headers = {k: (v.decode() if v is not None else None) for k, v in (msg.headers() or [])}
        schema_type = None
        if fmt == "avro":
            key = serializer.decode_message(msg.key(), is_key=True)
            value = serializer.decode_message(msg.value(), is_key=False) if msg.value() is not None else None
            if msg.value() is not None:
                (schema_id,) = struct.unpack(">I", msg.value()[1:5])
                schema = client.get_by_id(schema_id)
                # An optional value is the union ["null", X]: report X.
                if schema.type == "union":
                    branches = [b for b in schema.schemas if b.type != "null"]
                    schema = branches[0] if len(branches) == 1 else schema
                schema_type = schema.type
        else:
            key = msg.key().decode() if msg.key() is not None else None
            value = json.loads(msg.value()) if msg.value() is not None else None
        print(json.dumps({"topic": msg.topic(), "offset": msg.offset(), "key": key, "headers": headers,
                          "value": value, "value_schema_type": schema_type}))
        missing[msg.topic()] -= 1
    consumer.close()


if __name__ == "__main__":
    main()
