"""The rolling upgrade of docs/reliability.md, long form: 100 clients, two releases.

The topology starts at release N (this checkout with the old form, step 1 of
tests/net/rolling.py); N+1 (expand) and then N+2 (contract) are rolled over the two
application hosts one `werkplaats serve` at a time while 100 clients send and receive
through nginx in four rooms, two each; the checks are those of `rolling.upgrade`. Its own
topology, as the schema it leaves is not this checkout's.

Only in `make chaos-net`: a server start takes 40 to 60 s on the loaded build host, so even
one release over the fault suite's topology with 20 clients added 100 to 120 s to
`make test`. For a quicker run, fewer clients: WERKPLAATS_NET_ROLL_CLIENTS=20.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.helpers import CI
from tests.net.load import Load
from tests.net.rolling import make_release, upgrade
from tests.net.topology import Topology, available

CLIENTS = int(os.environ.get("WERKPLAATS_NET_ROLL_CLIENTS", "100"))
ROOMS = [f"net-{r}" for r in range(4)]


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    why = available()
    if why is not None:
        if CI:
            pytest.fail(f"the network topology cannot be built: {why}")
        pytest.skip(why)
    workdir = tmp_path_factory.mktemp("roll")
    topology = Topology(
        workdir, users=CLIENTS, rooms=len(ROOMS), release=make_release(workdir, 1).path
    )
    topology.start()
    try:
        yield topology
    finally:
        topology.stop()


@pytest.mark.soak
@pytest.mark.timeout(1800)
async def test_two_releases_rolled_under_clients_lose_nothing(topology: Topology) -> None:
    """Expand, then contract, one server process at a time: the clients only reconnect."""
    releases = [make_release(topology.workdir, steps) for steps in (2, 3)]
    # A send every 3 s a client (33 a second for 100); each reaches half the clients.
    load = Load(topology, 10.0, CLIENTS, ROOMS, per_client=2, pace=(2.0, 4.0))
    figures = await upgrade(load, releases, mixed=10.0)
    print(f"\nrolling upgrade, N+1 then N+2: {figures}")
