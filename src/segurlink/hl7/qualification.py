"""The rules that decide what the bridge writes back after INSi (pure: no I/O).

1. Before INSi (:func:`traits_for_insi`): a doubtful or fictitious identity (PID-32) is
   not sent to INSi (RNIV); traits that are missing or cannot be normalised are refused,
   naming the field. Both are acknowledged ``AE``.
2. After INSi (:func:`decide`): an identity is written back only when INSi returned
   exactly one identity (CR 00) whose strict traits all equal the message's (birth name,
   birth first names, sex, birth date, birth place: a message without a birth place does
   not qualify) and, when the message already carries an INS, INSi's active INS is that
   one or the one that superseded it. CR 01, CR 02, a traits mismatch and an INS conflict
   are acknowledged ``AE``; nothing is written back.
3. The written identity takes INSi's reference traits and the status the RNIV gives
   (:func:`status_after_insi`: ``VALI``/``QUAL`` become ``QUAL``, anything else
   ``RECUP``); only a ``QUAL`` identity carries the INS
   (:meth:`~segurlink.identity.IdentityRecord.shareable_ins`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidTraits
from ..identity import IdentityRecord, IdentityStatus, IdentityTraits
from ..insi import InsFound, SearchOutcome, compare_identity
from ..insi.models import CrCode
from .models import AckCode, AckError, IdentityUpdate, PamIdentity

__all__ = [
    "TRAIT_LOCATIONS",
    "Refusal",
    "decide",
    "status_after_insi",
    "traits_for_insi",
]

#: Where each trait sits in a PAM message: (segment, field, component).
TRAIT_LOCATIONS: dict[str, tuple[str, int, int | None]] = {
    "birth_name": ("PID", 5, 1),
    "first_names": ("PID", 5, 2),
    "used_name": ("PID", 5, 1),
    "used_first_name": ("PID", 5, 2),
    "sex": ("PID", 8, None),
    "birth_date": ("PID", 7, None),
    "birth_place": ("PID", 11, 9),
}
_INSI_ERROR = "207"  # HL7 table 0357: application internal error


@dataclass(frozen=True, slots=True)
class Refusal:
    """Nothing is written back: the ACK code and its ``ERR`` segments.

    ``final`` is False for the outcomes a sender should retry (``AR``: INSi or the
    receiver unavailable); the bridge then does not remember the message as processed.
    """

    code: AckCode
    errors: tuple[AckError, ...]
    final: bool = True


def status_after_insi(sender_status: IdentityStatus | None) -> IdentityStatus:
    """The RNIV status after INSi returned a matching identity.

    Same rule as :meth:`IdentityRecord.with_insi_result`: a high-trust document already
    checked (``VALI``, ``QUAL``) makes it ``QUAL``; otherwise (``PROV``, ``RECUP``, no
    status) ``RECUP``.

    >>> status_after_insi(IdentityStatus.VALI), status_after_insi(None)
    (<IdentityStatus.QUAL: 'QUAL'>, <IdentityStatus.RECUP: 'RECUP'>)
    """
    if sender_status in (IdentityStatus.VALI, IdentityStatus.QUAL):
        return IdentityStatus.QUAL
    return IdentityStatus.RECUP


def traits_for_insi(identity: PamIdentity) -> IdentityTraits | Refusal:
    """The traits to send to INSi, or the refusal when INSi must not or cannot be called."""
    # RNIV (IdentityRecord.can_call_insi): a doubtful or fictitious identity is not sent.
    if identity.doubtful or identity.fictitious:
        kind = "fictitious" if identity.fictitious else "doubtful"
        return Refusal(
            AckCode.AE,
            (
                AckError(
                    _INSI_ERROR,
                    f"the identity is {kind} (PID-32): INSi is not called",
                    "PID",
                    32,
                    application_code="INSI_FORBIDDEN",
                ),
            ),
        )
    try:
        return identity.traits()
    except InvalidTraits as exc:
        segment, field, component = TRAIT_LOCATIONS.get(exc.field, ("PID", None, None))
        missing = exc.message.startswith("the message gives no")
        return Refusal(
            AckCode.AE,
            (
                AckError(
                    "101" if missing else "102",
                    exc.message,
                    segment,
                    field,
                    component,
                    application_code="TRAITS_MISSING" if missing else "TRAITS_INVALID",
                ),
            ),
        )


def decide(
    identity: PamIdentity, traits: IdentityTraits, outcome: SearchOutcome
) -> IdentityUpdate | Refusal:
    """What to write back after the INSi search ``outcome`` for the message's identity."""
    result = outcome.result
    if not isinstance(result, InsFound):
        label = (
            "no identity (CR 01)"
            if result.code is CrCode.NOT_FOUND
            else ("several identities (CR 02)")
        )
        code = "INSI_NOT_FOUND" if result.code is CrCode.NOT_FOUND else "INSI_MULTIPLE"
        return Refusal(
            AckCode.AE, (AckError(_INSI_ERROR, f"INSi found {label}", application_code=code),)
        )
    found = result.identity
    stored_ins = identity.ins if identity.ins is not None else found.ins
    mismatches = compare_identity(stored_ins, traits, found.ins, found.previous_ins, found.traits)
    errors: list[AckError] = []
    for mismatch in mismatches:
        if mismatch.field == "ins_superseded":
            continue  # INSi's active INS replaced the message's: write the active one
        if mismatch.field == "ins":
            errors.append(
                AckError(
                    _INSI_ERROR,
                    "INSi returned another INS than the message's",
                    "PID",
                    3,
                    application_code="INS_CONFLICT",
                )
            )
            continue
        segment, field, component = TRAIT_LOCATIONS[mismatch.field]
        errors.append(
            AckError(
                _INSI_ERROR,
                f"INSi's {mismatch.field.replace('_', ' ')} differs from the message's",
                segment,
                field,
                component,
                application_code="TRAITS_MISMATCH",
            )
        )
    if errors:
        return Refusal(AckCode.AE, tuple(errors))
    record = IdentityRecord(traits).with_insi_result(found.ins, found.traits, found.previous_ins)
    status = status_after_insi(identity.status)
    if status is not IdentityStatus.QUAL:
        return IdentityUpdate(traits=record.traits, status=status)
    start = found.active.start
    if start is None and identity.ins == found.ins:
        start = identity.ins_effective_date
    return IdentityUpdate(
        traits=record.traits, status=status, ins=found.ins, ins_effective_date=start
    )
