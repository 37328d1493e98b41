"""Interop: the official Python client (h2ogpte, rest_sync) walks a key's whole
lifecycle against a running h2ogpte-fake-server and parses every response.

Usage: official_client.py  (reads H2OGPTE_SERVER_URL and H2OGPTE_API_KEY)
Prints one line per step and exits non-zero on the first mismatch.
"""

import os
import sys

from h2ogpte.rest_sync import (
    APIKeyCreateRequest,
    APIKeyUpdateExpiryRequest,
    APIKeyUpdateInactivityIntervalRequest,
    APIKeysApi,
    ApiClient,
    Configuration,
)
from h2ogpte.rest_sync.exceptions import ApiException


def expect(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)


def main():
    root = os.environ["H2OGPTE_SERVER_URL"].rstrip("/")
    config = Configuration(host=f"{root}/api/v1", access_token=os.environ["H2OGPTE_API_KEY"])
    api = APIKeysApi(ApiClient(config))
    user = os.environ.get("INTEROP_USER_ID", "u-interop")
    steps = 0

    created = api.create_api_key_for_user(
        APIKeyCreateRequest(user_id=user, name="interop", expires_in="30 days", inactivity_interval=5)
    )
    key = created.api_key
    expect(created.secret_key.endswith(key.hint), "hint is the secret's last four characters")
    expect(key.is_global_key and key.is_active and key.expires_at is not None, f"created key: {key}")
    steps += 1
    print(f"create: {key.id} expires {key.expires_at.isoformat()}")

    listed = api.list_all_api_keys(offset=0, limit=10, filter=key.username)
    expect([k.id for k in listed] == [key.id], f"list with filter: {listed}")
    steps += 1
    print(f"list: {len(listed)} key(s) for {key.username}")

    api.update_api_key_expiry(key.id, APIKeyUpdateExpiryRequest(expires_in="90 days"))
    after = api.list_all_api_keys(filter=key.username)[0]
    expect((after.expires_at - after.created_at).days == 90, f"set expiry: {after}")
    steps += 1
    print(f"set expiry: {after.expires_at.isoformat()}")

    api.update_api_key_expiry(key.id, APIKeyUpdateExpiryRequest())
    after = api.list_all_api_keys(filter=key.username)[0]
    expect(after.expires_at is None, f"remove expiry: {after}")
    steps += 1
    print("remove expiry: none")

    api.update_api_key_inactivity_interval(
        key.id, APIKeyUpdateInactivityIntervalRequest(inactivity_interval=30)
    )
    after = api.list_all_api_keys(filter=key.username)[0]
    expect(after.inactivity_interval == 30, f"set inactivity interval: {after}")
    steps += 1
    print("set inactivity interval: 30 days")

    api.update_api_key_inactivity_interval(key.id, APIKeyUpdateInactivityIntervalRequest())
    after = api.list_all_api_keys(filter=key.username)[0]
    expect(after.inactivity_interval is None, f"remove inactivity interval: {after}")
    steps += 1
    print("remove inactivity interval: none")

    api.deactivate_api_key(key.id)
    after = api.list_all_api_keys(filter=key.username)[0]
    expect(not after.is_active, f"deactivate: {after}")
    steps += 1
    print("deactivate: inactive")

    try:
        api.deactivate_api_key(key.id)
        expect(False, "second deactivate should be 409")
    except ApiException as e:
        expect(e.status == 409, f"second deactivate: {e.status}")
        expect(e.data is not None and e.data.code == 409, f"409 body parses as EndpointError: {e.body}")
    steps += 1
    print("deactivate again: 409")

    api.delete_api_key(key.id)
    expect(api.list_all_api_keys(filter=key.username) == [], "deleted key is gone")
    try:
        api.delete_api_key(key.id)
        expect(False, "second delete should be 404")
    except ApiException as e:
        expect(e.status == 404, f"second delete: {e.status}")
    steps += 1
    print("delete: gone, then 404")

    print(f"{steps} passed, 0 failed")


if __name__ == "__main__":
    main()
