"""flexcem.codec — SG CP envelopes ⇄ XML (the wire format, with a published XSD) and ⇄ JSON.

>>> from flexcem.codec import codec_for, decode_xml, encode_xml
>>> codec = codec_for("xml")          # or "json"; XmlCodec(max_bytes=...) for other limits

Both formats: same field names, lexical forms, size and depth limits, must-ignore of unknown content and the
same :class:`CodecError` family with the offending field's path. See ``docs/wire-format.md``.
"""

from flexcem.codec.codecs import CODEC_NAMES, Codec, JsonCodec, XmlCodec, codec_for
from flexcem.codec.errors import (
    CodecError,
    InvalidMessage,
    MalformedMessage,
    MessageHeader,
    MessageTooLarge,
    UnsupportedMessage,
)
from flexcem.codec.json_codec import decode_json, encode_json
from flexcem.codec.schema import schema_path, schema_text
from flexcem.codec.wire import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, NAMESPACE, SCHEMA_FILE
from flexcem.codec.xml_codec import decode_xml, encode_xml

__all__ = [
    "CODEC_NAMES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "NAMESPACE",
    "SCHEMA_FILE",
    "Codec",
    "CodecError",
    "InvalidMessage",
    "JsonCodec",
    "MalformedMessage",
    "MessageHeader",
    "MessageTooLarge",
    "UnsupportedMessage",
    "XmlCodec",
    "codec_for",
    "decode_json",
    "decode_xml",
    "encode_json",
    "encode_xml",
    "schema_path",
    "schema_text",
]
