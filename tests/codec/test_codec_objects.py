"""The bus sees one Codec interface over XML and JSON."""

from __future__ import annotations

import pytest

from flexcem.codec import DEFAULT_MAX_BYTES, Codec, JsonCodec, XmlCodec, codec_for
from flexcem.model import Envelope


@pytest.mark.parametrize(
    ("name", "cls", "content_type"),
    [("xml", XmlCodec, "application/xml"), ("json", JsonCodec, "application/json"), ("XML", XmlCodec, None)],
)
def test_codec_for_names(name: str, cls: type, content_type: str | None) -> None:
    codec = codec_for(name)
    assert isinstance(codec, cls)
    assert isinstance(codec, Codec)
    assert codec.name == name.lower()
    assert content_type is None or codec.content_type == content_type


def test_unknown_codec_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown codec 'yaml'; known: xml, json"):
        codec_for("yaml")


@pytest.mark.parametrize("name", ["xml", "json"])
def test_codec_roundtrip_and_limits(name: str, offer_envelope: Envelope) -> None:
    codec = codec_for(name, max_bytes=64 * 1024, max_depth=16)
    assert codec.decode(codec.encode(offer_envelope)) == offer_envelope
    assert codec_for(name) == codec_for(name, max_bytes=DEFAULT_MAX_BYTES)


@pytest.mark.parametrize("cls", [XmlCodec, JsonCodec])
def test_limits_must_be_positive(cls: type[XmlCodec] | type[JsonCodec]) -> None:
    with pytest.raises(ValueError, match="positive"):
        cls(max_bytes=0)
    with pytest.raises(ValueError, match="positive"):
        cls(max_depth=-1)


@pytest.mark.parametrize("name", ["xml", "json"])
def test_one_codec_serves_many_threads(name: str, offer_envelope: Envelope) -> None:
    from concurrent.futures import ThreadPoolExecutor

    codec = codec_for(name)
    data = codec.encode(offer_envelope)
    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(lambda _: codec.decode(data), range(200)))
    assert all(envelope == offer_envelope for envelope in decoded)
