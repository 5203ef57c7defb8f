"""HL7 bridge throughput as a ratio of direct INSi searches, same mock, one run.

    python benchmarks/hl7.py [--messages 200]

Three ways, interleaved over three rounds (the best round of each counts):

* direct INSi: ``InsiClient.search(traits)`` for the person (one call: found at once);
* bridge: an ADT^A31 over MLLP to segurlink's listener -> parse -> INSi search -> A31 built
  and sent over MLLP to a receiver that answers AA -> ACK back to the sender; each
  message has its own control id, so every one is processed;
* replay: the same message again (answered from the idempotency store).

The INSi mock runs in its own process (``segurlink mock serve``), as in a DUI's CI; the
sender, the bridge and the receiver share this process. The ratios matter, not the
absolute figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name (hl7.py) would
# shadow python-hl7, which segurlink.hl7 imports as ``hl7``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import datetime  # noqa: E402
import itertools  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from segurlink_mocks.stack import mock_process  # noqa: E402

from segurlink.hl7 import (  # noqa: E402
    AckCode,
    Hl7InsiBridge,
    MllpClient,
    MllpListener,
    build_ack,
    build_identity_update,
    parse_ack,
    parse_header,
    parse_message,
)
from segurlink.hl7.qualification import status_after_insi  # noqa: E402
from segurlink.identity import IdentityTraits  # noqa: E402
from segurlink.insi import InsiClient  # noqa: E402

PERSON = {
    "birth_name": "ADRUN",
    "first_names": "ZOE",
    "sex": "F",
    "birth_date": "1975-12-31",
    "birth_place": "63220",
}
MESSAGE = (
    "MSH|^~\\&|GAM|CHU-X|DUI|CHU-X|20240306111154||ADT^A31^ADT_A05|{id}|P|2.5^FRA^2.11"
    "|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM\r"
    "EVN||20240306111154\r"
    "PID|1||LOC{id}^^^CHU-X&1.2.250.1.999.1&ISO^PI||ADRUN^ZOE^ZOE^^^^L||19751231|F"
    "|||1 RUE DU PORT^^PARIS^^75001^FRA^H~^^^^^^BDL^^63220|||||||||||||||||||||VALI\r"
    "PV1|1|N\r"
)


def receiver_ack(message: bytes) -> bytes:
    return build_ack(parse_header(message), AckCode.AA, control_id="R", now=datetime.datetime.now())


def rate(name: str, call: Callable[[], object], count: int) -> float:
    for _ in range(min(10, count)):  # warm-up: connections, caches
        call()
    started = time.perf_counter()
    for _ in range(count):
        call()
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"{name:<30} {per_second:8.1f} /s   {elapsed / count * 1000:6.2f} ms each")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, mock_process(Path(tmp)) as settings:
        traits = IdentityTraits.from_input(**PERSON)
        direct = InsiClient.from_settings(settings)
        bridge_insi = InsiClient.from_settings(settings)
        with (
            MllpListener(receiver_ack, port=0) as receiver,
            MllpClient("127.0.0.1", receiver.port) as to_receiver,
        ):
            bridge = Hl7InsiBridge(bridge_insi, to_receiver)
            with (
                MllpListener(bridge.handle, port=0) as listener,
                MllpClient("127.0.0.1", listener.port) as sender,
            ):
                ids = itertools.count(1)

                def direct_search() -> object:
                    outcome = direct.search(traits)
                    assert outcome.found
                    return outcome

                def through_bridge() -> object:
                    message = MESSAGE.format(id=f"B{next(ids):08d}").encode()
                    ack = parse_ack(sender.send(message))
                    assert ack.code is AckCode.AA, ack
                    return ack

                replayed = MESSAGE.format(id="REPLAY").encode()
                sender.send(replayed)

                def replay() -> object:
                    return sender.send(replayed)

                print(
                    f"INSi mock {settings.section('insi')['endpoint']} (own process), "
                    f"{args.messages} messages each, MLLP on loopback"
                )
                methods: dict[str, Callable[[], object]] = {
                    "direct INSi search": direct_search,
                    "bridge (MLLP->INSi->A31->ACK)": through_bridge,
                    "bridge replay (idempotent)": replay,
                }
                best = dict.fromkeys(methods, 0.0)
                for round_no in range(1, 4):
                    print(f"round {round_no}")
                    for name, call in methods.items():
                        best[name] = max(best[name], rate(name, call, args.messages))
                r_direct, r_bridge, r_replay = best.values()
                print()
                print(f"bridge / direct INSi search  = {r_bridge / r_direct:5.2f}x")
                print(f"replay / direct INSi search  = {r_replay / r_direct:5.2f}x")
                print(f"messages forwarded: {bridge.counts.get('forwarded', 0)}")

        # The pure part alone: parse + build of the A31, per message.
        message = parse_message(MESSAGE.format(id="PURE"))
        update = direct.search(traits).identity
        assert update is not None
        from segurlink.hl7 import IdentityUpdate

        written = IdentityUpdate(
            update.traits, status_after_insi(message.identity.status), update.ins
        )
        started = time.perf_counter()
        for _ in range(args.messages):
            build_identity_update(
                parse_message(MESSAGE.format(id="PURE")),
                written,
                control_id="X",
                now=datetime.datetime.now(),
            )
        pure_ms = (time.perf_counter() - started) / args.messages * 1000
        print(f"parse + build alone: {pure_ms:.3f} ms/message")
        direct.close()
        bridge_insi.close()


if __name__ == "__main__":
    main()
