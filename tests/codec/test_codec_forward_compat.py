"""A newer sender does not break an older receiver (must-ignore), in XML and in JSON.

DESIGN §3: "extension elements allowed anywhere and ignored when unknown. An unknown `type` gets an
`unsupported` reply." Unknown elements in our namespace, elements in foreign namespaces, unknown attributes
and unknown JSON keys are dropped before validation; a newer minor schema_version is accepted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from codec_strategies import envelopes
from hypothesis import HealthCheck, given, settings
from lxml import etree

from flexcem.codec import (
    NAMESPACE,
    UnsupportedMessage,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
    schema_path,
)
from flexcem.model import Envelope, FlexibleStartOffer

FUTURE = "urn:example:future-extension"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def q(local: str) -> str:
    return f"{{{NAMESPACE}}}{local}"


def _decorate(encoded: bytes) -> bytes:
    """Add to every element unknown attributes and a foreign extension; to every complex element also an
    unknown element of our own namespace (a field a newer version added) at its start and its end."""
    root = etree.fromstring(encoded)
    for element in list(root.iter()):
        element.set("novel", "1")
        element.set(f"{{{FUTURE}}}flag", "yes")
        complex_content = len(element) > 0
        extension = etree.SubElement(element, f"{{{FUTURE}}}extension")
        etree.SubElement(extension, f"{{{FUTURE}}}detail").text = "ignored"
        extension.tail = ""
        if complex_content:
            element.insert(0, etree.Element(q("added_in_1_9")))
            etree.SubElement(element, q("also_added")).text = "42"
    return etree.tostring(root)


@SETTINGS
@given(envelope=envelopes())
def test_xml_unknown_elements_and_attributes_everywhere_are_ignored(envelope: Envelope) -> None:
    assert decode_xml(_decorate(encode_xml(envelope)), max_bytes=2**22) == envelope


def _add_unknown_keys(value: Any) -> Any:
    if isinstance(value, dict):
        decorated = {key: _add_unknown_keys(item) for key, item in value.items()}
        decorated["x_added_in_1_9"] = {"nested": [1, 2, {"deep": None}]}
        return decorated
    if isinstance(value, list):
        return [_add_unknown_keys(item) for item in value]
    return value


@SETTINGS
@given(envelope=envelopes())
def test_json_unknown_keys_at_every_level_are_ignored(envelope: Envelope) -> None:
    document = _add_unknown_keys(json.loads(encode_json(envelope)))
    assert decode_json(json.dumps(document).encode(), max_bytes=2**22) == envelope


@pytest.fixture
def offer_xml(offer_envelope: Envelope) -> str:
    return encode_xml(offer_envelope).decode()


def test_foreign_extension_inside_text_keeps_the_text(offer_envelope: Envelope, offer_xml: str) -> None:
    document = offer_xml.replace(
        "<programme>Cotton 40</programme>",
        f'<programme>Cot<x:note xmlns:x="{FUTURE}">hidden</x:note>ton 40</programme>',
    )
    decoded = decode_xml(document.encode())
    assert isinstance(decoded.body, FlexibleStartOffer)
    assert decoded.body.programme == "Cotton 40"
    assert decoded == offer_envelope


def test_unknown_element_in_the_body_beside_the_message_is_ignored(offer_envelope: Envelope, offer_xml: str) -> None:
    document = offer_xml.replace("<body>", "<body><Signature><value>abc</value></Signature>")
    assert decode_xml(document.encode()) == offer_envelope


def test_xsi_attributes_are_ignored_too(offer_envelope: Envelope, offer_xml: str) -> None:
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    document = offer_xml.replace("<offer_id>", f'<offer_id xmlns:xsi="{xsi}" xsi:type="xs:integer" xsi:nil="false">')
    assert decode_xml(document.encode()) == offer_envelope


def test_newer_minor_version_is_accepted(offer_envelope: Envelope, offer_xml: str) -> None:
    document = offer_xml.replace("<schema_version>1.0</schema_version>", "<schema_version>1.9</schema_version>")
    decoded = decode_xml(document.encode())
    assert decoded.schema_version == "1.9"
    assert decoded.model_copy(update={"schema_version": "1.0"}) == offer_envelope
    as_json = json.loads(encode_json(offer_envelope))
    as_json["schema_version"] = "1.12"
    assert decode_json(json.dumps(as_json).encode()).schema_version == "1.12"


def test_absent_schema_version_means_this_version(offer_envelope: Envelope, offer_xml: str) -> None:
    document = offer_xml.replace("<schema_version>1.0</schema_version>", "")
    assert decode_xml(document.encode()) == offer_envelope


def test_newer_message_type_gets_unsupported_not_silence(offer_xml: str) -> None:
    document = offer_xml.replace("<type>FlexibleStartOffer</type>", "<type>HeatPumpCurve</type>").replace(
        "FlexibleStartOffer>", "HeatPumpCurve>"
    )
    with pytest.raises(UnsupportedMessage) as caught:
        decode_xml(document.encode())
    assert caught.value.message_type == "HeatPumpCurve"
    assert caught.value.header.id == "msg-0001"


def test_published_xsd_admits_foreign_extensions_at_the_end_of_every_element(
    offer_envelope: Envelope,
) -> None:
    """Third parties validating with the XSD alone accept extensions in other namespaces (xs:any ##other)."""
    root = etree.fromstring(encode_xml(offer_envelope))
    for element in list(root.iter()):
        if len(element):
            etree.SubElement(element, f"{{{FUTURE}}}extension").text = "x"
            element.set(f"{{{FUTURE}}}flag", "1")
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    assert schema.validate(root), schema.error_log


def test_any_prefix_for_our_namespace_is_accepted(offer_envelope: Envelope) -> None:
    root = etree.fromstring(encode_xml(offer_envelope))
    prefixed = etree.Element(q("Envelope"), nsmap={"sgcp": NAMESPACE})
    prefixed.extend(list(root))
    document = etree.tostring(prefixed)
    assert b"<sgcp:Envelope" in document
    assert decode_xml(document) == offer_envelope
