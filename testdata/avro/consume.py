"""Consume Avro records with confluent-kafka-python and print them as JSON.

Usage: consume.py BOOTSTRAP REGISTRY_URL TOPIC COUNT

Each record is decoded twice, independently of Tributary: by
confluent-kafka's own Avro deserializer (MessageSerializer, which uses the
python3-avro library and the registry), and by hand with python3-avro's
DatumReader after checking the wire-format header and fetching the writer
schema over HTTP. The two must agree; the script prints one JSON line per
record: {"key_id", "value_id", "key", "value"}.
"""

import base64
import datetime
import decimal
import io
import json
import struct
import sys

import avro.io
import avro.schema
import requests
from confluent_kafka import Consumer
from confluent_kafka.avro.cached_schema_registry_client import CachedSchemaRegistryClient
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def to_json(o):
    if isinstance(o, decimal.Decimal):
        return {"decimal": str(o)}
    if isinstance(o, (bytes, bytearray)):
        return {"bytes": base64.b64encode(o).decode()}
    if isinstance(o, datetime.datetime):
        return {"timestamp": o.isoformat()}
    if isinstance(o, datetime.date):
        return {"date": o.isoformat()}
    if isinstance(o, datetime.time):
        return {"time": o.isoformat()}
    raise TypeError(repr(o))


def by_hand(registry, data, cache):
    if data[0] != 0:
        raise SystemExit("magic byte %d" % data[0])
    (schema_id,) = struct.unpack(">I", data[1:5])
    if schema_id not in cache:
        r = requests.get("%s/schemas/ids/%d" % (registry, schema_id), timeout=30)
        r.raise_for_status()
        cache[schema_id] = avro.schema.parse(r.json()["schema"])
    reader = avro.io.DatumReader(cache[schema_id])
    buf = io.BytesIO(data[5:])
    value = reader.read(avro.io.BinaryDecoder(buf))
    if buf.read():
        raise SystemExit("bytes left after the value of schema %d" % schema_id)
    return schema_id, value


def main():
    bootstrap, registry, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    serializer = MessageSerializer(CachedSchemaRegistryClient({"url": registry}))
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "tributary-avro-interop",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    cache = {}
    seen = 0
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    while seen < count:
        if datetime.datetime.now() > deadline:
            raise SystemExit("timed out after %d of %d records" % (seen, count))
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit(str(msg.error()))
        key = serializer.decode_message(msg.key(), is_key=True)
        value = serializer.decode_message(msg.value(), is_key=False)
        key_id, key2 = by_hand(registry, msg.key(), cache)
        value_id, value2 = by_hand(registry, msg.value(), cache)
        if key != key2 or value != value2:
            raise SystemExit("MessageSerializer and DatumReader disagree:\n%r\n%r" % (value, value2))
        print(json.dumps({"key_id": key_id, "value_id": value_id, "key": key, "value": value}, default=to_json))
        seen += 1
    consumer.close()


if __name__ == "__main__":
    main()
