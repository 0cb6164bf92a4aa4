"""The XSD is generated from the model, shipped up to date, and says what the model says."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import pytest
from lxml import etree
from pydantic import Field

import flexcem.model.envelope as envelope_module
from flexcem.codec import (
    SCHEMA_FILE,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
    schema_path,
    schema_text,
)
from flexcem.codec.shapes import UnsupportedAnnotationError, model_shape
from flexcem.codec.xsd_generator import generate_xsd, main, xsd_pattern
from flexcem.model import Envelope, FlexModel, message_types

XS = {"xs": "http://www.w3.org/2001/XMLSchema"}
REGENERATE = f"python -m flexcem.codec.xsd_generator > src/flexcem/codec/schema/{SCHEMA_FILE}"


@pytest.fixture(scope="module")
def xsd() -> Any:
    return etree.parse(str(schema_path())).getroot()


def test_shipped_xsd_is_up_to_date_with_the_model() -> None:
    assert schema_path().read_bytes() == generate_xsd(), f"the XSD is stale; regenerate it with: {REGENERATE}"


def test_generator_command_writes_the_xsd(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main([]) == 0
    assert capsysbinary.readouterr().out == generate_xsd()


def test_xsd_compiles_and_declares_the_envelope(xsd: Any) -> None:
    etree.XMLSchema(xsd)
    assert xsd.get("targetNamespace") == "urn:flexcem:sgcp:1"
    assert xsd.xpath("/xs:schema/xs:element/@name", namespaces=XS) == ["Envelope"]


def test_body_offers_exactly_the_registered_message_types(xsd: Any) -> None:
    names = xsd.xpath("//xs:complexType[@name='Body']//xs:choice/xs:element/@name", namespaces=XS)
    assert sorted(names) == sorted(message_types())


def _field(xsd: Any, type_name: str, field: str) -> Any:
    (element,) = xsd.xpath(
        f"/xs:schema/xs:complexType[@name='{type_name}']/xs:sequence/xs:element[@name='{field}']",
        namespaces=XS,
    )
    return element


def test_constraints_of_the_model_become_facets(xsd: Any) -> None:
    confidence = _field(xsd, "PowerSequence", "confidence")
    assert confidence.get("minOccurs") == "0"  # has a default
    assert confidence.xpath(".//xs:minInclusive/@value", namespaces=XS) == ["0.0"]
    assert confidence.xpath(".//xs:maxInclusive/@value", namespaces=XS) == ["1.0"]
    assert confidence.xpath(".//xs:restriction/@base", namespaces=XS) == ["FiniteDouble"]
    max_power = _field(xsd, "DeviceCapabilities", "max_power_w")
    assert max_power.xpath(".//xs:minExclusive/@value", namespaces=XS) == ["0.0"]
    revision = _field(xsd, "PriceEnvironmentProfile", "revision")
    assert revision.xpath(".//xs:restriction/@base", namespaces=XS) == ["xs:integer"]
    assert revision.xpath(".//xs:minInclusive/@value", namespaces=XS) == ["0"]
    device_id = _field(xsd, "FlexibleStartOffer", "device_id")
    assert device_id.xpath(".//xs:pattern/@value", namespaces=XS) == [r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"]
    assert _field(xsd, "FlexibleStartOffer", "programme").xpath(".//xs:maxLength/@value", namespaces=XS) == ["64"]


def test_types_optionality_lists_and_documentation(xsd: Any) -> None:
    assert _field(xsd, "FlexibleStartOffer", "latest_end").get("type") == "AwareDateTime"
    assert _field(xsd, "FlexibleStartOffer", "latest_end").get("minOccurs") is None
    assert _field(xsd, "FlexibleStartOffer", "incentive").get("minOccurs") == "0"
    assert _field(xsd, "FlexibleStartOffer", "incentive").get("type") == "IncentiveProgram"
    assert _field(xsd, "FlexibleStartOffer", "programme_duration").get("type") == "DayTimeDuration"
    assert _field(xsd, "Envelope", "ack_requested").get("type") == "xs:boolean"
    assert _field(xsd, "Envelope", "id").get("minOccurs") is None  # a generated default must travel
    slots = _field(xsd, "PowerSequence", "slots")
    (item,) = slots.xpath("xs:complexType/xs:sequence/xs:element", namespaces=XS)
    assert (item.get("name"), item.get("type"), item.get("minOccurs")) == ("item", "ProfileSlot", "1")
    docs = _field(xsd, "FlexibleStartOffer", "latest_end").xpath(".//xs:documentation/text()", namespaces=XS)
    assert docs == ["The job must be complete by this instant."]
    values = xsd.xpath("/xs:schema/xs:simpleType[@name='IncentiveProgram']//xs:enumeration/@value", namespaces=XS)
    assert values == ["cheapest", "greenest"]


@pytest.mark.parametrize(
    ("python", "xsd"),
    [
        (r"^[A-Z]{3}$", "[A-Z]{3}"),
        (r"^\d+\.\d+$", r"\d+\.\d+"),
        ("abc", r"[\s\S]*abc[\s\S]*"),
        (r"^price\$", r"price\$[\s\S]*"),
    ],
)
def test_patterns_keep_pydantic_search_semantics(python: str, xsd: str) -> None:
    assert xsd_pattern(python) == xsd


class _Level(IntEnum):
    LOW = 1


class _Dict(FlexModel):
    value: dict[str, int]


class _Union(FlexModel):
    value: int | str


class _RequiredOptional(FlexModel):
    value: str | None


class _IntEnum(FlexModel):
    value: _Level


@pytest.mark.parametrize("model", [_Dict, _Union, _RequiredOptional, _IntEnum])
def test_fields_without_a_wire_form_are_reported(model: type[FlexModel]) -> None:
    with pytest.raises(UnsupportedAnnotationError, match="value"):
        model_shape(model)


@pytest.mark.parametrize("pattern", [r"^(?:ab)+$", r"^(?i)abc$", r"^\w+$", r"^a+?$"])
def test_patterns_without_an_xsd_form_are_reported(pattern: str) -> None:
    with pytest.raises(UnsupportedAnnotationError, match="pattern"):
        xsd_pattern(pattern)


class WaterMeterReading(FlexModel):
    """A message a later issue might add."""

    meter_id: str = Field(max_length=32, description="The meter.")
    energy_wh: float = Field(ge=0.0)
    tags: tuple[str, ...] = ()


def test_newly_registered_message_is_covered_without_editing_the_codec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message registered at run time gets a generated schema and round-trips; the shipped file is kept
    for the registry it was generated from."""
    shipped = schema_path().read_bytes()
    assert schema_text() == shipped
    monkeypatch.setitem(envelope_module._REGISTRY, "WaterMeterReading", WaterMeterReading)
    monkeypatch.setitem(envelope_module._NAMES, WaterMeterReading, "WaterMeterReading")
    assert b'name="WaterMeterReading"' in schema_text()
    envelope = Envelope(  # type: ignore[call-arg]  # the type is taken from the body
        sender="home/meter",
        to="home/cem",
        created=datetime(2024, 1, 1, tzinfo=UTC),
        body=WaterMeterReading(meter_id="m-1", energy_wh=12.5, tags=("main", "tariff-2")),
    )
    assert decode_xml(encode_xml(envelope)) == envelope
    assert decode_json(encode_json(envelope)) == envelope
    monkeypatch.undo()
    assert schema_text() == shipped
