"""ROR: look up the health and medico-social offer over FHIR R4, publish bed availability.

>>> from segurlink.ror import RorClient, CapacityUpdate, Near
>>> with RorClient.from_settings(settings) as ror:          # doctest: +SKIP
...     for service in ror.services(specialty="022", near=Near(47.9, 1.9, 30)):
...         print(service.name, service.organization.name, service.locations[0].city)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from .client import RorClient, SearchResults, iter_export_resources, to_fhir_model
    from .flows import export_polling, paging
    from .messages import (
        CAPACITY_EXTENSION,
        DisabilityCriteria,
        HomeCareCriteria,
        Include,
        LocationCriteria,
        Near,
        NursingHomeCriteria,
        OrganizationCriteria,
        SearchQuery,
        ServiceCriteria,
        capacity_patch,
        classify_capacity_answer,
        disability_service_query,
        home_care_query,
        location_query,
        matching_capacity,
        nursing_home_query,
        organization_query,
        outcome_issues,
        parse_bundle,
        parse_capacity,
        parse_location,
        parse_organization,
        parse_practitioner,
        parse_service,
        service_query,
    )
    from .messages import decode_capacity as decode_capacity
    from .messages import decode_location as decode_location
    from .messages import decode_organization as decode_organization
    from .messages import decode_practitioner as decode_practitioner
    from .messages import decode_service as decode_service
    from .messages import read_bundle as read_bundle
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
    from .settings import RorSettings

__all__ = [
    "CAPACITY_EXTENSION",
    "Capacity",
    "CapacityPublication",
    "CapacityUpdate",
    "Coding",
    "Contact",
    "DisabilityCriteria",
    "ExportFile",
    "ExportProgress",
    "ExportResult",
    "HealthcareService",
    "HomeCareCriteria",
    "Identifier",
    "Include",
    "Location",
    "LocationCriteria",
    "Near",
    "NursingHomeCriteria",
    "OpeningHours",
    "Organization",
    "OrganizationCriteria",
    "Practitioner",
    "PractitionerRole",
    "Price",
    "PublicationStatus",
    "RorClient",
    "RorSettings",
    "SearchPage",
    "SearchQuery",
    "SearchResults",
    "ServiceCriteria",
    "Telecom",
    "capacity_patch",
    "classify_capacity_answer",
    "disability_service_query",
    "export_polling",
    "home_care_query",
    "iter_export_resources",
    "location_query",
    "matching_capacity",
    "nursing_home_query",
    "organization_query",
    "outcome_issues",
    "paging",
    "parse_bundle",
    "parse_capacity",
    "parse_location",
    "parse_organization",
    "parse_practitioner",
    "parse_service",
    "service_query",
    "to_fhir_model",
]

# Names are imported on first use so that ``import segurlink.ror`` (done by
# ``segurlink._commands.ror`` handlers) does not load requests and the FHIR models.
_MODULES = {
    ".client": ("RorClient", "SearchResults", "iter_export_resources", "to_fhir_model"),
    ".flows": ("export_polling", "paging"),
    ".settings": ("RorSettings",),
    ".models": (
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
        "OpeningHours",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Price",
        "PublicationStatus",
        "SearchPage",
        "Telecom",
    ),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
# Everything else comes from the messages, former names included.
for _name in (
    *__all__,
    "decode_capacity",
    "decode_location",
    "decode_organization",
    "decode_practitioner",
    "decode_service",
    "read_bundle",
):
    _EXPORTS.setdefault(_name, ".messages")
del _name
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
