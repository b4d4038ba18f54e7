"""Drives confluent-kafka-python's schema registry client against a registry.

Usage: confluent_client.py URL. Prints one JSON object with what the client
saw; the Go test checks it. Any client error propagates as a non-zero exit.
"""
import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

V1 = '{"type":"record","name":"Py","fields":[{"name":"id","type":"long"}]}'
V2 = ('{"type":"record","name":"Py","fields":[{"name":"id","type":"long"},'
      '{"name":"tag","type":"string","default":""}]}')
V3 = ('{"type":"record","name":"Py","fields":[{"name":"id","type":"long"},'
      '{"name":"n","type":"int"}]}')
# TestUtils.getAvroSchemaWithReferences (Confluent's RestApiTest.testSchemaReferences).
SUBRECORD = ('{"type":"record","name":"Subrecord","namespace":"otherns",'
             '"fields":[{"name":"field2","type":"string"}]}')
MYRECORD = ('{"type":"record","name":"MyRecord","namespace":"ns",'
            '"fields":[{"name":"field1","type":"otherns.Subrecord"}]}')
# RestApiTransitiveCompatibilityTest's schemas.
BASE = '{"type":"record","name":"myrecord","fields":[{"type":"string","name":"f1"}]}'
WITH_DEFAULT = ('{"type":"record","name":"myrecord","fields":[{"type":"string","name":"f1"},'
                '{"type":"string","name":"f2","default":"foo"}]}')
NO_DEFAULT = ('{"type":"record","name":"myrecord","fields":[{"type":"string","name":"f1"},'
              '{"type":"string","name":"f2"}]}')


def main(url):
    c = SchemaRegistryClient({"url": url})
    out = {}
    out["id1"] = c.register_schema("py-value", Schema(V1, "AVRO"))
    out["id2"] = c.register_schema("py-value", Schema(V2, "AVRO"))
    out["id1_other_subject"] = c.register_schema("py-other", Schema(V1, "AVRO"))
    try:
        c.register_schema("py-value", Schema(V3, "AVRO"))
        out["incompatible_error"] = None
    except SchemaRegistryError as e:
        out["incompatible_error"] = [e.http_status_code, e.error_code]
    fetched = c.get_schema(out["id1"])
    out["fetched_type"] = fetched.schema_type
    out["fetched_fields"] = [f["name"] for f in json.loads(fetched.schema_str)["fields"]]
    latest = c.get_latest_version("py-value")
    out["latest"] = [latest.schema_id, latest.version, latest.subject]
    looked = c.lookup_schema("py-value", Schema(V1, "AVRO"))
    out["lookup"] = [looked.schema_id, looked.version]
    out["versions"] = c.get_versions("py-value")
    out["subjects"] = sorted(c.get_subjects())
    out["compatible_v3"] = c.test_compatibility("py-value", Schema(V3, "AVRO"))
    out["set_level"] = c.set_compatibility("py-value", "FULL")
    out["level"] = c.get_compatibility("py-value")
    try:
        c.get_version("py-value", 42)
        out["missing_version_error"] = None
    except SchemaRegistryError as e:
        out["missing_version_error"] = [e.http_status_code, e.error_code]
    # test_compatibility defaults to version "latest": at a transitive level
    # only the latest version is checked, as in Confluent.
    c.set_compatibility("py-trans", "FULL_TRANSITIVE")
    c.register_schema("py-trans", Schema(BASE, "AVRO"))
    c.register_schema("py-trans", Schema(WITH_DEFAULT, "AVRO"))
    out["transitive_latest"] = c.test_compatibility("py-trans", Schema(NO_DEFAULT, "AVRO"))
    out["transitive_v1"] = c.test_compatibility("py-trans", Schema(NO_DEFAULT, "AVRO"), version=1)
    try:
        c.register_schema("bad\nsubject", Schema(BASE, "AVRO"))
        out["invalid_subject_error"] = None
    except SchemaRegistryError as e:
        out["invalid_subject_error"] = [e.http_status_code, e.error_code]
    c.delete_subject("py-trans")
    c.register_schema("py-ref", Schema(SUBRECORD, "AVRO"))
    ref = SchemaReference("otherns.Subrecord", "py-ref", 1)
    ref_id = c.register_schema("py-referrer", Schema(MYRECORD, "AVRO", [ref]))
    got = c.get_schema(ref_id)
    out["referrer_refs"] = [[r.name, r.subject, r.version] for r in got.references]
    out["referrer_lookup"] = c.lookup_schema("py-referrer", Schema(MYRECORD, "AVRO", [ref])).schema_id == ref_id
    try:
        c.delete_version("py-ref", 1)
        out["delete_referenced_error"] = None
    except SchemaRegistryError as e:
        out["delete_referenced_error"] = [e.http_status_code, e.error_code]
    c.delete_subject("py-referrer")
    c.delete_subject("py-ref")
    out["deleted"] = c.delete_subject("py-other")
    out["subjects_after_delete"] = sorted(c.get_subjects())
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
