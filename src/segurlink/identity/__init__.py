"""Identity: NIR/NIA keys, the INS, normalised identity traits and the RNIV status.

Pure values and functions (no I/O), shared by the INSi client, the DMP/MSSanté senders,
the CDA builder and the mocks.

>>> from segurlink.identity import Ins, IdentityTraits
>>> Ins.parse("2 75 12 63 220 749 74")
Ins('27***********74', oid='1.2.250.1.213.1.4.8')
>>> IdentityTraits.from_input(birth_name="Adrun", first_names="Zoé", sex="F",
...     birth_date="1975-12-31").first_name
'ZOE'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .ins import Ins, InsOid
    from .nir import check_nir, nir_key, split_nir
    from .rniv import IdDocumentKind, IdentityRecord, IdentityStatus
    from .traits import (
        IdentityTraits,
        Sex,
        normalize_birth_name,
        normalize_first_name,
        normalize_first_names,
    )

__all__ = [
    "IdDocumentKind",
    "IdentityRecord",
    "IdentityStatus",
    "IdentityTraits",
    "Ins",
    "InsOid",
    "Sex",
    "check_nir",
    "nir_key",
    "normalize_birth_name",
    "normalize_first_name",
    "normalize_first_names",
    "split_nir",
]

_EXPORTS = {
    **dict.fromkeys(
        (
            "Ins",
            "InsOid",
        ),
        ".ins",
    ),
    **dict.fromkeys(
        (
            "check_nir",
            "nir_key",
            "split_nir",
        ),
        ".nir",
    ),
    **dict.fromkeys(
        (
            "IdDocumentKind",
            "IdentityRecord",
            "IdentityStatus",
        ),
        ".rniv",
    ),
    **dict.fromkeys(
        (
            "IdentityTraits",
            "Sex",
            "normalize_birth_name",
            "normalize_first_name",
            "normalize_first_names",
        ),
        ".traits",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
