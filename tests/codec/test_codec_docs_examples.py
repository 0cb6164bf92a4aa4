"""The examples in docs/wire-format.md are real: they decode, to the same message, and match the encoder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from codec_samples import washer_envelope

from flexcem.codec import decode_json, decode_xml, encode_json, encode_xml

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-format.md"


def _block(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) == 1, f"expected one {language} example in {DOC.name}"
    return str(blocks[0])


def test_xml_and_json_examples_decode_to_the_same_message() -> None:
    from_xml = decode_xml(_block("xml").encode())
    from_json = decode_json(_block("json").encode())
    assert from_xml == from_json == washer_envelope()


def test_json_example_is_what_the_encoder_writes() -> None:
    assert json.loads(_block("json")) == json.loads(encode_json(washer_envelope()))


def test_quoted_sizes_are_the_encoded_sizes() -> None:
    envelope = washer_envelope()
    sizes = f"{len(encode_xml(envelope))} bytes in XML and {len(encode_json(envelope))} in JSON"
    assert sizes in DOC.read_text(encoding="utf-8")
