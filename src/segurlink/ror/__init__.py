"""ROR: look up the health and medico-social offer over FHIR R4, publish bed availability.

>>> from segurlink.ror import RorClient, CapacityUpdate, Near
>>> with RorClient.from_settings(settings) as ror:          # doctest: +SKIP
...     for service in ror.services(specialty="022", near=Near(47.9, 1.9, 30)):
...         print(service.name, service.organization.name, service.locations[0].city)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from .client import RorClient, RorSettings, SearchResults, iter_export_resources, to_fhir_model
    from .messages import (
        CAPACITY_EXTENSION,
        Near,
        SearchQuery,
        capacity_patch,
        classify_capacity_answer,
        decode_capacity,
        decode_location,
        decode_organization,
        decode_practitioner,
        decode_service,
        disability_service_query,
        home_care_query,
        location_query,
        matching_capacity,
        nursing_home_query,
        organization_query,
        outcome_issues,
        read_bundle,
        service_query,
    )
    from .models import (
        Capacity,
        CapacityPublication,
        CapacityUpdate,
        Coding,
        Contact,
        ExportFile,
        ExportProgress,
        ExportResult,
        HealthcareService,
        Identifier,
        Location,
        OpeningHours,
        Organization,
        Practitioner,
        PractitionerRole,
        Price,
        PublicationStatus,
        SearchPage,
        Telecom,
    )

__all__ = [
    "CAPACITY_EXTENSION",
    "Capacity",
    "CapacityPublication",
    "CapacityUpdate",
    "Coding",
    "Contact",
    "ExportFile",
    "ExportProgress",
    "ExportResult",
    "HealthcareService",
    "Identifier",
    "Location",
    "Near",
    "OpeningHours",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Price",
    "PublicationStatus",
    "RorClient",
    "RorSettings",
    "SearchPage",
    "SearchQuery",
    "SearchResults",
    "Telecom",
    "capacity_patch",
    "classify_capacity_answer",
    "decode_capacity",
    "decode_location",
    "decode_organization",
    "decode_practitioner",
    "decode_service",
    "disability_service_query",
    "home_care_query",
    "iter_export_resources",
    "location_query",
    "matching_capacity",
    "nursing_home_query",
    "organization_query",
    "outcome_issues",
    "read_bundle",
    "service_query",
    "to_fhir_model",
]

# Names are imported on first use so that ``import segurlink.ror`` (done by
# ``segurlink._commands.ror`` handlers) does not load requests and the FHIR models
_CLIENT = {"RorClient", "RorSettings", "SearchResults", "iter_export_resources", "to_fhir_model"}
_MODELS = {
    "Capacity", "CapacityPublication", "CapacityUpdate", "Coding", "Contact", "ExportFile",
    "ExportProgress", "ExportResult", "HealthcareService", "Identifier", "Location",
    "OpeningHours", "Organization", "Practitioner", "PractitionerRole", "Price",
    "PublicationStatus", "SearchPage", "Telecom",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "client" if name in _CLIENT else "models" if name in _MODELS else "messages"
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
