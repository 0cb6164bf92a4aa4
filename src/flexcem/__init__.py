"""flexcem: the reference open implementation of IEC TR 62746-2."""

__version__ = "0.1.0"
