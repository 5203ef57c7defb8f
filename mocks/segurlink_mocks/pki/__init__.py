"""The test PKI shared by every mock: an IGC-Santé-like CA, server and client certificates."""

from .authority import (
    CA_NAME,
    PASSWORD,
    STRUCTURE_NAME,
    STRUCTURE_OU,
    ClientCert,
    TestPki,
    leaf_builder,
)

__all__ = [
    "CA_NAME",
    "PASSWORD",
    "STRUCTURE_NAME",
    "STRUCTURE_OU",
    "ClientCert",
    "TestPki",
    "leaf_builder",
]
