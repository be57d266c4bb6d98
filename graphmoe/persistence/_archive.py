"""The model file: a zip of ``manifest.json``, ``state.json`` and ``arrays.safetensors``.

``manifest.json`` holds the format name and version, the library versions
that wrote the file, and the SHA-256 of the two other members; loading
checks all of it before decoding anything. The checksums catch truncation,
corruption and edits of a member (they are integrity checks, not a
signature: someone who rewrites the manifest can rewrite them too -- which
still runs no code, because decoding never unpickles).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile

__all__ = ["FORMAT", "FORMAT_VERSION", "write_archive", "read_archive", "library_versions"]

FORMAT = "graphmoe-model"
FORMAT_VERSION = 1
_MEMBERS = ("manifest.json", "state.json", "arrays.safetensors")


def library_versions():
    """Versions of the libraries whose objects a model file may hold (none is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    versions = {"graphmoe": __version__}
    for name in ("numpy", "scipy", "scikit-learn", "torch", "torch_geometric", "safetensors"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - optional at run time
            pass
    return versions


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_archive(path, state, arrays_blob, extra):
    """Write the three members to ``path`` atomically (temp file + fsync + rename)."""
    state_blob = json.dumps(state, allow_nan=True, separators=(",", ":")).encode()
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "libraries": library_versions(),
                "sha256": {"state.json": _sha256(state_blob),
                           "arrays.safetensors": _sha256(arrays_blob)}, **extra}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: directory {directory!r} does not "
                                "exist.")
    fd, tmp = tempfile.mkstemp(prefix=".graphmoe-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                zf.writestr("manifest.json", json.dumps(manifest, indent=1),
                            compress_type=zipfile.ZIP_DEFLATED)
                zf.writestr("state.json", state_blob, compress_type=zipfile.ZIP_DEFLATED)
                zf.writestr("arrays.safetensors", arrays_blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic: an interrupted save leaves the old file intact
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _not_a_model(path, head):
    hint = ""
    if head[:1] == b"\x80" or head[:2] in (b"(d", b"(l"):  # pickle protocol 2+ / 0
        hint = (" It looks like a pickle/joblib file; graphmoe.load never unpickles "
                "(unpickling can run arbitrary code). Re-save the model with graphmoe.save.")
    return ValueError(f"{path!r} is not a graphmoe model file (not a zip archive).{hint}")


#: deflate cannot inflate more than about 1032:1, so a member that claims more is a
#: forged header (a legitimate all-zero array may come close, hence no tighter bound)
_MAX_INFLATION = 1100


def read_archive(path):
    """``(manifest, state, arrays_blob)`` of a model file, verified; ``ValueError`` if bad."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not a graphmoe model file.")
    with open(path, "rb") as fh:
        data = fh.read()
    if not data.startswith(b"PK"):
        raise _not_a_model(path, data[:4])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            missing = [m for m in _MEMBERS if m not in names]
            if missing:
                raise ValueError(f"{path!r} is not a complete graphmoe model file: it lacks "
                                 f"{missing}.")
            # refuse forged sizes before inflating anything
            limit = _MAX_INFLATION * len(data) + (1 << 20)
            if sum(zf.getinfo(m).file_size for m in _MEMBERS) > limit:
                raise ValueError(f"{path!r} claims more uncompressed data than a graphmoe "
                                 "model file can hold; refusing to inflate it.")
            blobs = {m: zf.read(m) for m in _MEMBERS}
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, OSError) as err:
        raise ValueError(f"{path!r} is truncated or corrupt ({err}).") from None
    manifest = _parse_json(blobs["manifest.json"], path, "manifest.json")
    _check_manifest(manifest, path)
    for member in ("state.json", "arrays.safetensors"):
        if _sha256(blobs[member]) != manifest["sha256"].get(member):
            raise ValueError(f"{path!r}: checksum mismatch in {member}; the file was modified "
                             "or corrupted after it was saved.")
    state = _parse_json(blobs["state.json"], path, "state.json")
    return manifest, state, blobs["arrays.safetensors"]


def _parse_json(blob, path, member):
    try:
        return json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path!r}: {member} is not valid JSON ({err}).") from None


def _check_manifest(manifest, path):
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a graphmoe model file (manifest format "
                         f"{manifest.get('format') if isinstance(manifest, dict) else None!r}).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path!r}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} was written in model format version {version}, newer than this "
            f"graphmoe reads ({FORMAT_VERSION}; written by graphmoe "
            f"{manifest.get('libraries', {}).get('graphmoe', '?')}). Upgrade graphmoe.")
    if not isinstance(manifest.get("sha256"), dict):
        raise ValueError(f"{path!r}: the manifest lacks its checksums.")
