"""Notifications: the client's set-up/removal over the sandbox's Notifications API (grantless
tokens), the schema check of ORDER_CHANGE messages, and the sandbox publishing to a real
SQS-compatible server (moto's server mode) with its faults."""

import copy
import itertools
import json
import re
from pathlib import Path

import httpx
import pytest

from amazon_sp import ClientConfig, SpApiClient, errors
from amazon_sp.sqs import NotificationError, SqsConsumer, parse_notification, queue_arn

SCHEMA = Path(__file__).resolve().parents[3] / "shared/sp-api/schemas/OrderChangeNotification.json"
# Amazon's notification schema and models (../shared/sp-api) are the reference of every test here
pytestmark = pytest.mark.skipif(
    not SCHEMA.is_file(), reason=f"Amazon's schema is absent ({SCHEMA})"
)
jsonschema = pytest.importorskip("jsonschema")


def _example():
    return copy.deepcopy(json.loads(SCHEMA.read_text())["examples"][0])


@pytest.fixture(scope="module")
def sqs():
    pytest.importorskip("boto3")
    from sp_sandbox import sqs_server

    reason = sqs_server.unavailable()
    if reason:
        pytest.skip(reason)
    from sp_sandbox.sqs_server import SqsServer

    with SqsServer() as server:
        yield server


@pytest.fixture
def queue(sqs, request):
    url, arn = sqs.create_queue(f"q-{request.node.name[:60]}".replace("[", "-").replace("]", ""))
    sqs.purge(url)
    return url, arn


@pytest.fixture
def client(sandbox):
    config = ClientConfig(
        "cid", "secret", "Atzr|rt", endpoint=sandbox.url, lwa_endpoint=sandbox.lwa_url
    )
    with SpApiClient(config) as api:
        yield api


def consumer(sqs, url):
    return SqsConsumer(url, sqs.region, **sqs.credentials, endpoint_url=sqs.url)


def drain(sqs, url):
    reader = consumer(sqs, url)
    received = []
    for batch in reader.poll(30, idle_polls=1, wait_seconds=1):
        received += batch
        reader.delete(batch)
    return received


# --- validation --------------------------------------------------------------------------
def test_schema_example_is_valid_and_parsed():
    event = parse_notification(json.dumps(_example()))
    assert event.order_id == "903-8868176-2219830"
    assert event.seller_id == "A3TH9S8BH6GOGM"
    assert event.notification_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert event.order_status == "Unshipped"


def _mutations():
    """(name, change of the example) pairs: each breaks Amazon's schema."""

    def drop(*path):
        def change(doc):
            node = doc
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]

        return change

    def put(value, *path):
        def change(doc):
            node = doc
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value

        return change

    change = ("Payload", "OrderChangeNotification")
    summary = (*change, "Summary")
    item = (*summary, "OrderItems", 0)
    return [
        ("no metadata", drop("NotificationMetadata")),
        ("no notification id", drop("NotificationMetadata", "NotificationId")),
        ("no order id", drop(*change, "AmazonOrderId")),
        ("order id not a string", put(12, *change, "AmazonOrderId")),
        ("unknown change type", put("Whatever", *change, "OrderChangeType")),
        ("unknown status", put("Lost", *summary, "OrderStatus")),
        ("no items", drop(*summary, "OrderItems")),
        ("item without sku", drop(*item, "SellerSKU")),
        ("quantity not an integer", put("3", *item, "Quantity")),
        ("quantity a boolean", put(True, *item, "Quantity")),
        ("trigger without reason", drop(*change, "OrderChangeTrigger", "ChangeReason")),
        ("payload a list", put([], "Payload")),
    ]


@pytest.mark.parametrize("name,change", _mutations(), ids=[m[0] for m in _mutations()])
def test_schema_violations_are_refused_like_jsonschema(name, change):
    schema = json.loads(SCHEMA.read_text())
    document = _example()
    change(document)
    assert list(jsonschema.Draft7Validator(schema).iter_errors(document)), "a real violation"
    with pytest.raises(NotificationError):
        parse_notification(json.dumps(document))


def test_nullable_fields_and_other_types():
    document = _example()
    document["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"] = None
    document["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"][0]["SupplySourceId"] = (
        None
    )
    assert parse_notification(json.dumps(document)).order_id
    for body in ("", "not json", "[]", json.dumps(dict(_example(), NotificationType="X"))):
        with pytest.raises(NotificationError):
            parse_notification(body)


def test_notification_limits_are_the_models():
    from amazon_sp import ratelimit

    model = json.loads((SCHEMA.parents[1] / "models/notifications.json").read_text())
    documented = {}
    for item in model["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            table = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", operation["description"])
            documented[operation["operationId"]] = (float(table[1]), int(table[2]))
    for operation, limits in ratelimit.NOTIFICATION_LIMITS.items():
        assert documented[operation] == limits, operation
    assert ratelimit.LIMITER.limits["createDestination"] == (1.0, 5)


def test_queue_arn():
    assert (
        queue_arn("https://sqs.eu-west-1.amazonaws.com/123456789012/orders")
        == "arn:aws:sqs:eu-west-1:123456789012:orders"
    )
    assert queue_arn("http://127.0.0.1:5000/123456789012/q", "us-east-1").endswith(":q")
    with pytest.raises(ValueError):
        queue_arn("https://sqs.eu-west-1.amazonaws.com/orders")


# --- the client and the sandbox's Notifications API ---------------------------------------
def test_setup_is_idempotent_and_removal(sandbox, client):
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders"
    destination, subscription, created = client.notifications.ensure_order_change(arn, "odoo")
    assert created == 2
    assert subscription.destination_id == destination.destination_id
    again = client.notifications.ensure_order_change(arn, "odoo")
    assert again == (destination, subscription, 0)
    assert client.notifications.remove_order_change(arn) == 2
    assert client.notifications.remove_order_change(arn) == 0
    assert not sandbox.notifier.destinations and not sandbox.notifier.subscriptions
    # destinations went with a grantless token, subscriptions with the seller's
    assert sandbox.state.stats["calls"]["lwa"] == 2
    assert not sandbox.state.stats["rejections"]


def test_setup_moves_a_subscription_to_the_queue(client):
    old, _sub, _n = client.notifications.ensure_order_change("arn:aws:sqs:eu-west-1:1:old", "a")
    new, subscription, created = client.notifications.ensure_order_change(
        "arn:aws:sqs:eu-west-1:1:new", "b"
    )
    assert created == 2 and subscription.destination_id == new.destination_id != old.destination_id


def test_grantless_operations_refuse_the_seller_token_and_vice_versa(sandbox, sandbox_http):
    answer = sandbox_http.get("/notifications/v1/destinations")
    assert answer.status_code == 403
    token = httpx.post(
        sandbox.lwa_url,
        data={
            "grant_type": "client_credentials",
            "scope": "sellingpartnerapi::notifications",
            "client_id": "cid",
            "client_secret": "secret",
        },
    ).json()["access_token"]
    grantless = {"x-amz-access-token": token}
    assert httpx.get(f"{sandbox.url}/notifications/v1/destinations", headers=grantless).json() == {
        "payload": []
    }
    answer = httpx.get(
        f"{sandbox.url}/notifications/v1/subscriptions/ORDER_CHANGE", headers=grantless
    )
    assert answer.status_code == 403
    bad_scope = httpx.post(
        sandbox.lwa_url,
        data={
            "grant_type": "client_credentials",
            "scope": "x",
            "client_id": "c",
            "client_secret": "s",
        },
    )
    assert bad_scope.status_code == 400


@pytest.mark.forbidden_requests
def test_create_destination_refuses_what_is_not_an_sqs_arn(client):
    with pytest.raises(errors.SpApiBadRequestError):
        client.notifications.create_destination("odoo", "arn:aws:sns:eu-west-1:1:topic")


# --- the sandbox's publisher -----------------------------------------------------------------
def _subscribe(sandbox, client, sqs, arn):
    sandbox.notifier.configure_sqs(sqs.url, sqs.region, **sqs.credentials)
    client.notifications.ensure_order_change(arn, "odoo")


def _change(sandbox, count):
    refs = list(itertools.islice(sandbox.state.orders, count))
    for ref in refs:
        if sandbox.state.view(ref) is not None:
            sandbox.state.set_status(ref, "UNSHIPPED")
    assert sandbox.notifier.wait_idle(30)
    return [ref for ref in refs if sandbox.state.view(ref) is not None]


def test_every_change_is_published_in_amazons_shape(sandbox, client, sqs, queue):
    url, arn = queue
    _subscribe(sandbox, client, sqs, arn)
    refs = _change(sandbox, 5)
    received = drain(sqs, url)
    schema = json.loads(SCHEMA.read_text())
    assert sorted(r.event.order_id for r in received) == sorted(refs)
    assert all(r.event.seller_id == sandbox.scenario.seller["sellerId"] for r in received)
    body = sandbox.notifier.message(
        sandbox.state.view(refs[0]), {"subscriptionId": "s"}, sandbox.state.now()
    )
    jsonschema.validate(body, schema)


def test_nothing_is_published_without_subscription(sandbox, sqs, queue):
    sandbox.notifier.configure_sqs(sqs.url, sqs.region, **sqs.credentials)
    _change(sandbox, 3)
    assert sandbox.notifier.counts["sent"] == 0
    assert sqs.count(queue[0]) == 0


def test_faults_drop_duplicate_reorder(sandbox, client, sqs, queue):
    url, arn = queue
    _subscribe(sandbox, client, sqs, arn)
    sandbox.notifier.set_faults(drop_next=1, duplicate_next=1, reorder=3)
    refs = _change(sandbox, 4)  # 1st dropped, 2nd twice: 4 messages, held in threes
    assert sandbox.notifier.status()["held"] == 1
    sandbox.notifier.flush()
    received = drain(sqs, url)
    ids = [r.event.order_id for r in received]
    assert sorted(ids) == sorted([refs[1], refs[1], refs[2], refs[3]])
    assert sum(r.duplicate for r in received) == 1  # the consumer dedupes by notification id
    counts = sandbox.notifier.counts
    assert (counts["dropped"], counts["duplicated"]) == (1, 1)


def test_delay_fault_hides_messages_for_a_while(sandbox, client, sqs, queue):
    url, arn = queue
    _subscribe(sandbox, client, sqs, arn)
    sandbox.notifier.set_faults(delay=600)
    _change(sandbox, 1)
    assert consumer(sqs, url).receive(0) == []
    assert sqs.count(url) == 1  # delayed, not lost
