"""scripts/image.sh, end to end: build the OCI image of dist/switchyard, unpack it with umoci, and
run the unpacked binary in a chroot of the image's root filesystem (nothing of the host visible), as
the image's user: if a shared library or the loader were missing, it would not start.

Skips, saying why, when dist/switchyard is missing (scripts/release.sh builds it), when umoci is
missing and cannot be installed, or (for the chroot) without root.

Run: `$(scripts/py-env.sh)/bin/pytest -q Tests/kubernetes -k image`.
"""

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / "dist" / "switchyard"
LAYOUT = REPO / "dist" / "image"
ARCHIVE = REPO / "dist" / "switchyard-image.tar"
ENTRYPOINT = "/usr/local/bin/switchyard"
IMAGE_USER = "65532:65532"


def is_root():
    return os.geteuid() == 0


@pytest.fixture(scope="module")
def build():
    """Runs scripts/image.sh once for the module; returns its stdout."""
    if not BINARY.exists():
        pytest.skip(f"{BINARY.relative_to(REPO)} is missing: build it with scripts/release.sh")
    if shutil.which("umoci") is None and not is_root():
        pytest.skip("umoci is missing and installing it needs root: apt-get install umoci")
    result = subprocess.run([str(REPO / "scripts" / "image.sh")], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and shutil.which("umoci") is None:
        pytest.skip(f"umoci could not be installed: {result.stderr.strip()[-500:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def blob(digest):
    algorithm, value = digest.split(":", 1)
    return LAYOUT / "blobs" / algorithm / value


def manifest_descriptor(tag):
    index = json.loads((LAYOUT / "index.json").read_text())
    (descriptor,) = [entry for entry in index["manifests"]
                     if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    return descriptor


def image_config(tag="latest"):
    manifest = json.loads(blob(manifest_descriptor(tag)["digest"]).read_text())
    return json.loads(blob(manifest["config"]["digest"]).read_text())


def binary_version():
    return subprocess.run([str(BINARY), "--version"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def rootfs(build, tmp_path_factory):
    bundle = tmp_path_factory.mktemp("image") / "bundle"
    rootless = [] if is_root() else ["--rootless"]
    subprocess.run(["umoci", "unpack", *rootless, "--image", f"{LAYOUT}:latest", str(bundle)],
                   check=True, capture_output=True, timeout=300)
    return bundle / "rootfs"


def run_in_image(rootfs, *arguments):
    """The image's entrypoint with arguments, chrooted into the unpacked image as its user. /proc is
    mounted in a private mount namespace (a runtime mounts it too; Swift reads its arguments there)
    and vanishes with it."""
    if not is_root():
        pytest.skip("running the unpacked image in a chroot needs root")
    (rootfs / "proc").mkdir(exist_ok=True)
    script = 'mount -t proc proc "$1/proc" && shift && exec chroot --userspec="$0" "$@"'
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, IMAGE_USER, str(rootfs), str(rootfs),
                           ENTRYPOINT, *arguments], capture_output=True, text=True, timeout=60)


def test_image_script_prints_the_latest_manifest_digest(build):
    digest = manifest_descriptor("latest")["digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert digest in build
    assert manifest_descriptor(binary_version())["digest"] == digest, "the version tag names the same image"


def test_image_config_runs_the_binary_as_the_unprivileged_user(build):
    config = image_config()
    assert config["config"]["Entrypoint"] == [ENTRYPOINT]
    assert config["config"]["User"] == IMAGE_USER
    assert config["os"] == "linux"
    labels = config["config"]["Labels"]
    assert labels["org.opencontainers.image.title"] == "switchyard"
    assert labels["org.opencontainers.image.version"] == binary_version()
    assert {"org.opencontainers.image.created", "org.opencontainers.image.revision"} <= set(labels)


def test_image_archive_is_the_same_layout(build):
    assert ARCHIVE.is_file()
    with tarfile.open(ARCHIVE) as archive:
        names = {name.removeprefix("./") for name in archive.getnames()}
        index = json.load(archive.extractfile("./index.json"))
    assert {"oci-layout", "index.json"} <= names
    assert index == json.loads((LAYOUT / "index.json").read_text())
    for path in LAYOUT.rglob("*"):
        if path.is_file():
            assert str(path.relative_to(LAYOUT)) in names, f"{path} is not in {ARCHIVE.name}"


def test_image_holds_every_library_ldd_lists(rootfs):
    listing = subprocess.run(["ldd", str(BINARY)], capture_output=True, text=True, check=True).stdout
    paths = re.findall(r"(?:=>\s+|^\s*)(/\S+)\s+\(", listing, flags=re.MULTILINE)
    assert paths, listing
    for path in paths:
        assert (rootfs / path.lstrip("/")).is_file(), f"{path} is missing from the image"
    assert (rootfs / ENTRYPOINT.lstrip("/")).read_bytes() == BINARY.read_bytes()


def test_image_binary_runs_alone_in_the_image(rootfs):
    result = run_in_image(rootfs, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == binary_version()


def test_image_binary_validates_a_config_inside_the_image(rootfs):
    """More than --version: argument parsing, Foundation and the YAML decoder, on a real file."""
    target = rootfs / "tmp" / "switchyard.yaml"
    shutil.copyfile(REPO / "examples" / "switchyard.yaml", target)
    try:
        result = run_in_image(rootfs, "validate", "/tmp/switchyard.yaml")
    finally:
        target.unlink()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
