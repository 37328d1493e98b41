"""Parses `h2ogpte-keys audit -o openmetrics` with the OpenMetrics parser of
prometheus_client, the reference Python implementation, and checks what a
scraper relies on: every family present, one expiry gauge per key that has
an expiry, label values that round-trip (quotes, backslashes, newlines).

Usage: python openmetrics_check.py METRICS_FILE EXPECTED_EXPIRY_GAUGES ODD_NAME
"""

import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

path, expected, odd_name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(path, encoding="utf-8").read()
families = {f.name: f for f in text_string_to_metric_families(text)}

wanted = {
    "h2ogpte_api_keys",
    "h2ogpte_api_key_findings",
    "h2ogpte_api_key_expiry_timestamp_seconds",
    "h2ogpte_api_key_audit_timestamp_seconds",
    "h2ogpte_api_key_audit_duration_seconds",
    "h2ogpte_api_key_audit_success",
}
missing = wanted - families.keys()
assert not missing, f"missing families: {sorted(missing)}"

expiry = families["h2ogpte_api_key_expiry_timestamp_seconds"]
assert expiry.unit == "seconds", expiry.unit
assert len(expiry.samples) == expected, f"{len(expiry.samples)} expiry gauges, expected {expected}"
names = {s.labels["name"] for s in expiry.samples}
assert odd_name in names, f"the odd name did not round-trip: {odd_name!r}"
for sample in expiry.samples:
    assert set(sample.labels) == {"id", "username", "name", "state"}, sample.labels
    assert sample.labels["state"] in {"active", "expired", "idle", "deactivated"}, sample.labels

states = {s.labels["state"]: s.value for s in families["h2ogpte_api_keys"].samples}
assert set(states) == {"active", "expired", "idle", "deactivated"}, states
codes = {s.labels["code"] for s in families["h2ogpte_api_key_findings"].samples}
assert "no-expiry" in codes and "rotation-in-progress" in codes and "waiver-expired" in codes, codes
success = families["h2ogpte_api_key_audit_success"].samples[0].value
assert success == 1, success
print(f"openmetrics: {len(families)} families, {len(expiry.samples)} expiry gauges, {int(sum(states.values()))} keys: parsed")
