"""Bad input is refused with an error of the codec's family that names the problem and the field.

DESIGN §5: "Bad input anywhere ... gets a clear error naming the field". DESIGN §3: message size limits.
Each case is checked in XML and, where the format has it, in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from flexcem.codec import (
    CodecError,
    InvalidMessage,
    MalformedMessage,
    MessageTooLarge,
    UnsupportedMessage,
    XmlCodec,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
)
from flexcem.model import Envelope, FlexibleStartOffer

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def xml(offer_envelope: Envelope) -> str:
    return encode_xml(offer_envelope).decode()


@pytest.fixture
def as_json(offer_envelope: Envelope) -> Callable[[Edit], bytes]:
    def edited(edit: Edit) -> bytes:
        document = json.loads(encode_json(offer_envelope))
        edit(document)
        return json.dumps(document).encode()

    return edited


def refused_xml(document: str | bytes, kind: type[CodecError] = InvalidMessage) -> CodecError:
    data = document.encode() if isinstance(document, str) else document
    with pytest.raises(kind) as caught:
        decode_xml(data)
    return caught.value


def refused_json(data: bytes, kind: type[CodecError] = InvalidMessage) -> CodecError:
    with pytest.raises(kind) as caught:
        decode_json(data)
    return caught.value


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


# --- well-formedness, size, depth, encoding --------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [b"", b"hello", b"<Envelope xmlns='urn:flexcem:sgcp:1'><id>1</Envelope>", b"<a>&undefined;</a>"],
)
def test_not_well_formed_xml_is_malformed_with_position(document: bytes) -> None:
    error = refused_xml(document, MalformedMessage)
    assert "not well-formed XML" in error.reason
    assert "line 1" in error.reason


def test_json_syntax_error_gives_line_and_column() -> None:
    error = refused_json(b'{"id": "m1",\n  "type": }', MalformedMessage)
    assert "line 2, column 11" in error.reason


def test_oversized_message_is_refused_before_parsing() -> None:
    data = b"<" * (256 * 1024 + 1)  # not even well-formed: the size is checked first
    assert isinstance(refused_xml(data, MessageTooLarge), MessageTooLarge)
    assert "262145 bytes" in refused_json(data, MessageTooLarge).reason


def test_size_limit_is_configurable_on_both_sides(offer_envelope: Envelope) -> None:
    size = len(encode_xml(offer_envelope))
    XmlCodec(max_bytes=size).decode(encode_xml(offer_envelope))
    with pytest.raises(MessageTooLarge):
        XmlCodec(max_bytes=size - 1).decode(encode_xml(offer_envelope))
    with pytest.raises(MessageTooLarge):
        XmlCodec(max_bytes=size - 1).encode(offer_envelope)


def test_too_deep_nesting_is_malformed(offer_envelope: Envelope) -> None:
    deep_xml = b"<Envelope xmlns='urn:flexcem:sgcp:1'>" + b"<x>" * 40 + b"</x>" * 40 + b"</Envelope>"
    assert "deeper than 32" in refused_xml(deep_xml, MalformedMessage).reason
    deep_json = b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert "deeper than 32" in refused_json(deep_json, MalformedMessage).reason
    assert "deeper" in refused_json(b"[" * 100_000 + b"]" * 100_000, MalformedMessage).reason
    decode_xml(encode_xml(offer_envelope), max_depth=11)  # flexcem's own messages need 11 levels


@pytest.mark.parametrize(
    "document",
    [
        '<?xml version="1.0" encoding="ISO-8859-1"?><Envelope xmlns="urn:flexcem:sgcp:1"/>'.encode("latin-1"),
        '<Envelope xmlns="urn:flexcem:sgcp:1"/>'.encode("utf-16"),
        b'<Envelope xmlns="urn:flexcem:sgcp:1"><id>\xff</id></Envelope>',
    ],
)
def test_non_utf8_xml_is_malformed(document: bytes) -> None:
    refused_xml(document, MalformedMessage)


def test_non_utf8_json_is_malformed() -> None:
    assert "UTF-8" in refused_json(b'{"id": "\xff"}', MalformedMessage).reason


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b'{"id": "a", "id": "b"}', "appears twice"),
        (b'{"power": NaN}', "NaN"),
        (b'{"power": -Infinity}', "-Infinity"),
        (b'{"power": 1e400}', "out of range"),
        (b'{"n": ' + b"9" * 5000 + b"}", "not acceptable JSON"),
    ],
)
def test_json_ambiguities_and_non_finite_numbers_are_malformed(document: bytes, problem: str) -> None:
    assert problem in refused_json(document, MalformedMessage).reason


# --- entities, DTDs, network -----------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Envelope xmlns="urn:flexcem:sgcp:1"><id>&lol9;</id></Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Envelope [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<Envelope xmlns="urn:flexcem:sgcp:1"><id>m1</id><type>Nack</type><from>a/b</from><to>a/c</to>
<created>2024-01-01T00:00:00Z</created><body><Nack><ref>m0</ref><reason>&secret;</reason></Nack></body>
</Envelope>"""

NETWORK_DTD = b"""<?xml version="1.0"?>
<!-- a comment first -->
<!DOCTYPE Envelope SYSTEM "http://127.0.0.1:9/sgcp.dtd">
<Envelope xmlns="urn:flexcem:sgcp:1"/>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, NETWORK_DTD])
def test_any_doctype_is_refused_outright(document: bytes) -> None:
    error = refused_xml(document, MalformedMessage)
    assert "DOCTYPE" in error.reason
    assert "root:" not in str(error)


def test_hardened_parser_resolves_no_entity_even_past_the_doctype_check() -> None:
    """Second line of defence: lxml itself is configured not to load DTDs or resolve entities."""
    from lxml import etree

    from flexcem.codec.safe_xml import _parser

    root = etree.fromstring(EXTERNAL_ENTITY, _parser())
    assert "root:" not in etree.tostring(root).decode()
    assert root.getroottree().docinfo.externalDTD is None


# --- envelope and version ------------------------------------------------------------------------------


def test_wrong_major_schema_version_is_refused(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    document = replace_once(xml, "<schema_version>1.0<", "<schema_version>2.0<")
    error = refused_xml(document)
    assert error.field == "schema_version"
    assert "major version 2" in error.reason
    json_error = refused_json(as_json(lambda d: d.update(schema_version="2.3")))
    assert json_error.field == "schema_version"
    assert json_error.header is not None
    assert json_error.header.id == "msg-0001"


def test_namespace_of_another_major_version_is_refused(xml: str) -> None:
    error = refused_xml(xml.replace("urn:flexcem:sgcp:1", "urn:flexcem:sgcp:2"))
    assert error.field == "schema_version"
    assert "urn:flexcem:sgcp:2" in error.reason


def test_other_root_element_is_refused() -> None:
    assert "not an SG CP envelope" in refused_xml(b"<Envelope/>").reason


def test_unknown_type_raises_unsupported_with_the_header(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    document = replace_once(xml, "<type>FlexibleStartOffer</type>", "<type>Teleport</type>")
    document = replace_once(document, "<ack_requested>", "<correlation_id>req-7</correlation_id><ack_requested>")
    for error in (
        refused_xml(document, UnsupportedMessage),
        refused_json(as_json(lambda d: d.update(type="Teleport", correlation_id="req-7")), UnsupportedMessage),
    ):
        assert isinstance(error, UnsupportedMessage)
        header = error.header
        assert (header.id, header.type, header.sender, header.to) == (
            "msg-0001",
            "Teleport",
            "home-42/washer-1",
            "home-42/cem",
        )
        assert (header.reply_to, header.correlation_id) == ("home-42/washer-1", "req-7")
        assert header.reply_address == "home-42/washer-1"
        assert error.message_type == "Teleport"
        assert "Teleport" in str(error)


def test_unknown_type_with_an_unusable_header_is_invalid(as_json: Callable[[Edit], bytes]) -> None:
    error = refused_json(as_json(lambda d: d.update({"type": "Teleport", "from": "not an address"})))
    assert error.field == "from"

    def no_id(document: dict[str, Any]) -> None:
        document.update(type="Teleport")
        del document["id"]

    assert refused_json(as_json(no_id)).field == "id"


def test_body_that_does_not_fit_its_type_is_invalid(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    error = refused_xml(replace_once(xml, "<type>FlexibleStartOffer</type>", "<type>DeviceStatus</type>"))
    assert error.field == "body"
    assert "DeviceStatus" in error.reason
    assert "FlexibleStartOffer" in error.reason
    json_error = refused_json(as_json(lambda d: d.update(type="DeviceStatus")))
    assert json_error.field is not None
    assert json_error.field.startswith("body.DeviceStatus")


# --- fields --------------------------------------------------------------------------------------------


def test_missing_required_field_is_named(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    document = replace_once(xml, "<latest_end>2024-05-01T14:00:00Z</latest_end>", "")
    error = refused_xml(document)
    assert (error.field, error.reason[:24]) == (
        "body.FlexibleStartOffer.latest_end",
        "missing required element",
    )
    json_error = refused_json(as_json(lambda d: d["body"].pop("latest_end")))
    assert (json_error.field, json_error.reason) == (
        "body.FlexibleStartOffer.latest_end",
        "missing required field",
    )


def test_missing_header_field_is_named(xml: str) -> None:
    assert refused_xml(replace_once(xml, "<to>home-42/cem</to>", "")).field == "to"


def test_naive_datetime_is_refused(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    document = replace_once(xml, "<latest_end>2024-05-01T14:00:00Z<", "<latest_end>2024-05-01T14:00:00<")
    error = refused_xml(document)
    assert error.field == "body.FlexibleStartOffer.latest_end"
    assert "timezone" in error.reason
    json_error = refused_json(as_json(lambda d: d["body"].update(latest_end="2024-05-01T16:00:00")))
    assert json_error.field == "body.FlexibleStartOffer.latest_end"
    assert "timezone" in json_error.reason


def test_invalid_enum_value_is_refused(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    error = refused_xml(replace_once(xml, "<incentive>cheapest<", "<incentive>dearest<"))
    assert error.field == "body.FlexibleStartOffer.incentive"
    assert "dearest" in error.reason
    assert "greenest" in error.reason
    json_error = refused_json(as_json(lambda d: d["body"].update(incentive="dearest")))
    assert json_error.field == "body.FlexibleStartOffer.incentive"
    assert "dearest" in json_error.reason


def test_inconsistent_flexible_start_window_is_refused(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    """latest_start 12:00Z + programme_duration 1:20 is after a latest_end of 13:00Z."""
    document = replace_once(xml, "<latest_end>2024-05-01T14:00", "<latest_end>2024-05-01T13:00")
    json_data = as_json(lambda d: d["body"].update(latest_end="2024-05-01T15:00:00+02:00"))
    for error in (refused_xml(document), refused_json(json_data)):
        assert error.field == "body.FlexibleStartOffer.latest_start"
        assert "programme_duration" in error.reason
        assert "latest_end" in error.reason


def test_negative_duration_is_refused_with_its_path(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    document = replace_once(xml, "<duration>PT50M</duration>", "<duration>-PT50M</duration>")

    def negative(d: dict[str, Any]) -> None:
        d["body"]["profile"]["alternatives"][0]["slots"][1]["duration"] = "-PT50M"

    for error in (refused_xml(document), refused_json(as_json(negative))):
        assert error.field == "body.FlexibleStartOffer.profile.alternatives.0.slots.1.duration"
        assert "positive" in error.reason


def test_value_outside_its_range_is_refused(xml: str, as_json: Callable[[Edit], bytes]) -> None:
    error = refused_xml(replace_once(xml, "<confidence>0.9<", "<confidence>1.5<"))
    assert error.field == "body.FlexibleStartOffer.profile.alternatives.1.confidence"
    assert "1.5" in error.reason

    def too_sure(d: dict[str, Any]) -> None:
        d["body"]["profile"]["alternatives"][1]["confidence"] = 1.5

    assert refused_json(as_json(too_sure)).field == "body.FlexibleStartOffer.profile.alternatives.1.confidence"


@pytest.mark.parametrize(("bad", "hint"), [("INF", "finite"), ("NaN", "finite"), ("1e400", "out of range")])
def test_non_finite_numbers_are_refused_in_xml(xml: str, bad: str, hint: str) -> None:
    error = refused_xml(replace_once(xml, "<power_w>150.0<", f"<power_w>{bad}<"))
    assert error.field == "body.FlexibleStartOffer.profile.alternatives.0.slots.1.power_w"
    assert hint in error.reason


def test_year_and_month_durations_are_refused(xml: str) -> None:
    error = refused_xml(replace_once(xml, "<duration>PT50M<", "<duration>P1M<"))
    assert error.field == "body.FlexibleStartOffer.profile.alternatives.0.slots.1.duration"
    assert "days, hours, minutes and seconds" in error.reason


def test_repeated_element_is_named(xml: str) -> None:
    error = refused_xml(replace_once(xml, "<device_id>washer-1</device_id>", "<device_id>a</device_id>" * 2))
    assert error.field == "body.FlexibleStartOffer.device_id"
    assert "repeated or out of order" in error.reason


def test_hostile_magnitudes_are_refused_naming_the_field() -> None:
    """A hostile charging offer (1e300 Wh at 1e-300 W) is refused by the model's bounds, not by a crash."""
    document = {
        "id": "m2",
        "type": "ChargingSessionOffer",
        "from": "home/ev",
        "to": "home/cem",
        "created": "2024-05-01T08:00:00Z",
        "body": {
            "offer_id": "s1",
            "device_id": "ev",
            "earliest_start": "2024-05-01T08:00:00Z",
            "latest_start": "2024-05-01T08:00:00Z",
            "latest_end": "2024-05-02T08:00:00Z",
            "energy_wh": 1e300,
            "max_power_w": 1e-300,
        },
    }
    error = refused_json(json.dumps(document).encode())
    assert error.field == "body.ChargingSessionOffer.energy_wh"
    assert "less than or equal to 100000000" in error.reason


# --- encoding refusals ---------------------------------------------------------------------------------


def test_values_without_a_wire_form_are_refused_when_encoding(offer_envelope: Envelope) -> None:
    offer = offer_envelope.body
    assert isinstance(offer, FlexibleStartOffer)
    body = offer.model_copy(update={"programme": "bad\x01char"})
    with pytest.raises(InvalidMessage) as caught:
        encode_xml(offer_envelope.model_copy(update={"body": body}))
    assert caught.value.field == "body.FlexibleStartOffer.programme"
    encode_json(offer_envelope.model_copy(update={"body": body}))  # JSON can carry it

    infinite = offer.profile.alternatives[0].slots[0].model_copy(update={"power_w": float("inf")})
    sequence = offer.profile.alternatives[0].model_copy(update={"slots": (infinite,)})
    profile = offer.profile.model_copy(update={"alternatives": (sequence,)})
    broken = offer_envelope.model_copy(update={"body": offer.model_copy(update={"profile": profile})})
    for encode in (encode_xml, encode_json):
        with pytest.raises(InvalidMessage) as caught:
            encode(broken)
        assert caught.value.field == "body.FlexibleStartOffer.profile.alternatives.0.slots.0.power_w"


def test_every_codec_error_is_a_value_error_naming_its_field(xml: str) -> None:
    error = refused_xml(replace_once(xml, "<incentive>cheapest<", "<incentive>x<"))
    assert isinstance(error, ValueError)
    assert str(error).startswith("body.FlexibleStartOffer.incentive: ")
    assert error.header is not None
    assert error.header.type == "FlexibleStartOffer"


def test_expiry_before_creation_is_named(as_json: Callable[[Edit], bytes], offer_envelope: Envelope) -> None:
    expires = (offer_envelope.created - timedelta(minutes=1)).isoformat()
    assert refused_json(as_json(lambda d: d.update(expires=expires))).field == "expires"


def test_empty_list_that_needs_items_is_named(xml: str) -> None:
    start, end = xml.index("<alternatives>"), xml.index("</alternatives>")
    error = refused_xml(xml[:start] + "<alternatives>" + xml[end:])
    assert error.field == "body.FlexibleStartOffer.profile.alternatives"
    assert "at least 1 item" in error.reason


def test_header_value_of_the_wrong_json_type_is_named(as_json: Callable[[Edit], bytes]) -> None:
    error = refused_json(as_json(lambda d: d.update(ack_requested=[1])))
    assert error.field == "ack_requested"
