"""Every registered message type survives XML and JSON unchanged, and every encoded XML is schema-valid.

The strategies (codec_strategies.py) build valid instances of each message by construction; the XML is
validated against the XSD file shipped in the package, not a freshly generated one.
"""

from __future__ import annotations

import pytest
from codec_strategies import envelopes, generic_messages, profile_slots
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from flexcem.codec import decode_json, decode_xml, encode_json, encode_xml, schema_path
from flexcem.model import DeviceStatus, Envelope, SimpleCommand, message_types

SHIPPED_XSD = etree.XMLSchema(etree.parse(str(schema_path())))
MESSAGE_TYPES = sorted(message_types())
ROUNDTRIP = settings(
    max_examples=40,
    deadline=None,
    # Some messages have cross-field validators (a tariff notification's window, a slot series' contiguity)
    # that reject many generated inputs; the test is about the round trip, not about generation speed.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def assert_schema_valid(encoded: bytes) -> None:
    document = etree.fromstring(encoded)
    assert SHIPPED_XSD.validate(document), SHIPPED_XSD.error_log


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
@ROUNDTRIP
@given(data=st.data())
def test_xml_roundtrip_is_identity_and_schema_valid(message_type: str, data: st.DataObject) -> None:
    envelope = data.draw(envelopes(message_type))
    encoded = encode_xml(envelope)
    assert_schema_valid(encoded)
    decoded = decode_xml(encoded)
    assert decoded == envelope
    assert type(decoded.body) is message_types()[message_type]
    # The encoding is canonical: what was decoded encodes to the same bytes.
    assert encode_xml(decoded) == encoded


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
@ROUNDTRIP
@given(data=st.data())
def test_json_roundtrip_is_identity_and_pydantic_compatible(message_type: str, data: st.DataObject) -> None:
    envelope = data.draw(envelopes(message_type))
    encoded = encode_json(envelope)
    assert decode_json(encoded) == envelope
    assert Envelope.model_validate_json(encoded) == envelope
    assert encode_json(decode_json(encoded)) == encoded


@ROUNDTRIP
@given(envelope=envelopes())
def test_xml_and_json_carry_the_same_message(envelope: Envelope) -> None:
    assert decode_json(encode_json(decode_xml(encode_xml(envelope)))) == envelope


@settings(deadline=None, max_examples=60)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_floats_roundtrip_bit_for_bit(value: float) -> None:
    from datetime import UTC, datetime

    body = DeviceStatus(device_id="d1", state="idle", at=datetime(2024, 1, 1, tzinfo=UTC), power_w=value)
    envelope = Envelope(  # type: ignore[call-arg]  # the type is taken from the body
        sender="home/d1", to="home/cem", created=datetime(2024, 1, 1, tzinfo=UTC), body=body
    )
    for decoded in (decode_xml(encode_xml(envelope)), decode_json(encode_json(envelope))):
        assert isinstance(decoded.body, DeviceStatus)
        assert decoded.body.power_w.hex() == value.hex()


@pytest.mark.parametrize("model", [SimpleCommand, DeviceStatus])
@settings(deadline=None, max_examples=20, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_generic_fallback_strategy_builds_valid_messages(model: type, data: st.DataObject) -> None:
    """Message types registered later without a hand-written strategy are covered by the generic one."""
    message = data.draw(generic_messages(model))
    assert isinstance(message, model)


@settings(deadline=None, max_examples=30)
@given(slot=profile_slots())
def test_profile_slot_strategy_respects_the_energy_share_rule(slot: object) -> None:
    from flexcem.model import ProfileSlot

    assert isinstance(slot, ProfileSlot)
    assert sum(share.share for share in slot.energy_sources) <= 1.0 + 1e-9
