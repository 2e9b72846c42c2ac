"""Certificates for tests that need real TLS: a private CA made with the openssl CLI."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@dataclass(frozen=True)
class Pki:
    """A private CA and two server certificates it signed, valid for 10 days from now."""

    folder: Path
    ca: Path
    leaf: Path
    leaf_key: Path
    other: Path
    other_key: Path


def issue(folder: Path, name: str, subject: str, san: str) -> tuple[Path, Path]:
    openssl(
        "req",
        *EC_KEY,
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        subject,
        cwd=folder,
    )
    (folder / f"{name}.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "10", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.pem", folder / f"{name}.key"


def make_pki(folder: Path) -> Pki:
    """Make a private CA in ``folder`` and two server certificates it signs."""
    openssl(
        "req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", "/CN=Deploycheck Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    leaf, leaf_key = issue(
        folder, "leaf", "/CN=localhost/O=Deploycheck", "DNS:localhost,IP:127.0.0.1"
    )
    other, other_key = issue(
        folder, "other", "/CN=example.test", "DNS:example.test,DNS:*.example.test"
    )
    return Pki(folder, folder / "ca.pem", leaf, leaf_key, other, other_key)
