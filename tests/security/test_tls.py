"""TLS to the store and the broker with a local CA.

The store: a private FerretDB (SQLite, in a temporary folder) with a TLS listener that requires a
client certificate, on a CA this test makes. The broker: the local RabbitMQ's TLS listener, which
scripts/infra configures with its development CA (``.local/infra/tls``).
"""

import asyncio
import os
import shutil
import socket
import ssl
import tempfile
from datetime import date
from pathlib import Path

import aio_pika
import pytest
from pymongo.errors import ServerSelectionTimeoutError

from caremesh_contracts import CoverageRegistered
from caremesh_kit.bus import Bus, amqp_ssl_context, connect, read_event_log, tls_url
from caremesh_kit.envelope import stored_event
from caremesh_kit.settings import ServiceSettings
from caremesh_kit.store import Store, tls_options
from caremesh_testing import eventually, management, service_settings
from caremesh_testing.tls import INFRA_TLS, LocalCa, local_ca

AMQPS_PORT = 5671


def ferretdb_binary() -> str:
    found = shutil.which("ferretdb") or os.environ.get("CAREMESH_FERRETDB")
    tools = Path(os.environ.get("CAREMESH_TOOLS", Path.home() / ".local/share/caremesh/bin")) / "ferretdb"
    if found is None and tools.exists():
        found = str(tools)
    assert found, "no ferretdb binary (scripts/infra up builds one)"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ca(tmp_path) -> LocalCa:
    return local_ca(tmp_path / "pki")


@pytest.fixture
async def tls_ferretdb(ca, tmp_path):
    """The mongodb URL of a FerretDB that speaks only TLS and wants a client certificate."""
    port = free_port()
    (tmp_path / "sqlite").mkdir()
    proc = await asyncio.create_subprocess_exec(
        ferretdb_binary(),
        "--handler=sqlite",
        f"--sqlite-url=file:{tmp_path / 'sqlite'}/",
        f"--state-dir={tmp_path}",
        "--listen-addr=",  # no plain listener
        f"--listen-tls=127.0.0.1:{port}",
        f"--listen-tls-cert-file={ca.server_cert}",
        f"--listen-tls-key-file={ca.server_key}",
        f"--listen-tls-ca-file={ca.ca}",  # clients must present a certificate from this CA
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            assert proc.returncode is None, f"ferretdb exited with {proc.returncode}"
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        await eventually(listening, timeout=30, what="ferretdb's TLS listener")
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)


def joined_pems() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("caremesh-mongodb-*.pem"))


async def round_trip(store: Store) -> int:
    try:
        await store.db.notes.insert_one({"kind": "tls-probe"})
        return await store.db.notes.count_documents({"kind": "tls-probe"})
    finally:
        await store.close()


async def test_the_store_connects_over_tls_with_the_ca_and_a_client_certificate(tls_ferretdb, ca, tmp_path):
    before = joined_pems()
    store = Store(
        tls_ferretdb, "tls", tls_ca_file=str(ca.ca), tls_cert_file=str(ca.client_cert), tls_key_file=str(ca.client_key)
    )
    [joined] = joined_pems() - before  # certificate and key given apart: joined for PyMongo
    assert joined.stat().st_mode & 0o077 == 0  # private
    assert await round_trip(store) == 1
    assert not joined.exists()  # removed on close

    # Certificate and key in one PEM, as PyMongo takes it: the file is used as it is.
    pem = tmp_path / "client-with-key.pem"
    pem.write_bytes(ca.client_cert.read_bytes() + ca.client_key.read_bytes())
    assert await round_trip(Store.of(tls_settings(tls_ferretdb, ca=ca.ca, cert=pem), "tls")) == 2


async def test_the_store_refuses_a_server_its_ca_does_not_vouch_for(tls_ferretdb, ca, tmp_path):
    other = local_ca(tmp_path / "other")
    for store in (
        # The system's trust store does not know the local CA.
        Store(tls_ferretdb, "tls", tls_cert_file=str(ca.client_cert), tls_key_file=str(ca.client_key)),
        # Another CA's.
        Store(
            tls_ferretdb,
            "tls",
            tls_ca_file=str(other.ca),
            tls_cert_file=str(ca.client_cert),
            tls_key_file=str(ca.client_key),
        ),
    ):
        with pytest.raises(ServerSelectionTimeoutError, match="CERTIFICATE_VERIFY_FAILED"):
            await round_trip(store)
    # Without a client certificate the server hangs up; without TLS at all too.
    for store in (Store(tls_ferretdb, "tls", tls_ca_file=str(ca.ca)), Store(tls_ferretdb, "tls")):
        with pytest.raises(ServerSelectionTimeoutError):
            await round_trip(store)


def tls_settings(mongodb_url: str = "", ca: Path | None = None, cert: Path | None = None) -> ServiceSettings:
    return ServiceSettings(
        mongodb_url=mongodb_url, mongodb_tls_ca_file=str(ca or ""), mongodb_tls_cert_file=str(cert or "")
    )


def test_tls_options_are_off_until_a_file_is_set_and_a_lone_key_is_refused(ca):
    assert tls_options() == ({}, None)
    assert tls_options(ca_file="/ca.pem") == ({"tls": True, "tlsCAFile": "/ca.pem"}, None)
    with pytest.raises(ValueError, match="mongodb_tls_key_file"):
        tls_options(key_file=str(ca.client_key))
    assert amqp_ssl_context() is None
    with pytest.raises(ValueError, match="amqp_tls_key_file"):
        amqp_ssl_context(key_file=str(ca.client_key))
    context = amqp_ssl_context(ca_file=str(ca.ca), cert_file=str(ca.client_cert), key_file=str(ca.client_key))
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "CareMesh test CA"),),)]
    assert tls_url("amqp://u:p@127.0.0.1:5671/vh?name=x", context) == "amqps://u:p@127.0.0.1:5671/vh?name=x"
    assert tls_url("amqp://u:p@127.0.0.1:5672/", None) == "amqp://u:p@127.0.0.1:5672/"


# -- the broker --------------------------------------------------------------------------------


@pytest.fixture
def broker_ca() -> Path:
    ca = INFRA_TLS / "ca.pem"
    assert ca.exists(), f"{ca} missing: scripts/infra up makes it (and the broker's TLS listener)"
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", AMQPS_PORT)) == 0, (
            "no TLS listener on 5671: restart the broker with scripts/infra"
        )
    return ca


async def test_the_bus_publishes_and_replays_over_tls_with_a_client_certificate(broker_ca, namespace):
    name = f"tls-{namespace}"
    settings = service_settings(
        ServiceSettings,
        namespace,
        amqp_tls_ca_file=str(broker_ca),
        amqp_tls_cert_file=str(INFRA_TLS / "client.pem"),
        amqp_tls_key_file=str(INFRA_TLS / "client.key"),
    ).model_copy(update={"amqp_url": f"amqp://guest:guest@127.0.0.1:{AMQPS_PORT}/?name={name}"})
    bus = Bus("insurance", settings)
    await bus.start()
    try:
        stored = stored_event(
            CoverageRegistered(coverage_id="c-tls", patient_id="p", payer="acme", period_start=date(2026, 1, 1)),
            service="insurance",
            subject="c-tls",
        )
        await bus.publish_stored(stored)  # confirmed

        async def over_tls():
            rows = await management("/connections?columns=client_properties,ssl,peer_cert_subject")
            return [r for r in rows if (r.get("client_properties") or {}).get("connection_name") == name]

        connections = await eventually(over_tls, what="the bus's connection in the management API")
        assert all(c["ssl"] and "caremesh-client" in c["peer_cert_subject"] for c in connections), connections
    finally:
        await bus.stop()
    replayed = [
        m.headers["ce-id"]
        async for m in read_event_log(settings.amqp_url, namespace, "first", ssl_context=bus.ssl_context)
    ]
    assert replayed == [stored["id"]]


async def test_the_bus_refuses_a_broker_its_ca_does_not_vouch_for(broker_ca, ca):
    url = f"amqp://guest:guest@127.0.0.1:{AMQPS_PORT}/"
    for context in (amqp_ssl_context(ca_file=str(ca.ca)), ssl.create_default_context()):
        with pytest.raises(aio_pika.exceptions.AMQPConnectionError) as caught:
            await asyncio.wait_for(connect(url, context), timeout=20)
        assert "CERTIFICATE_VERIFY_FAILED" in repr(caught.value.__cause__ or caught.value)
    connection = await connect(url, amqp_ssl_context(ca_file=str(broker_ca)))  # the CA alone suffices
    await connection.close()
