"""bloomlink: privacy-preserving record linkage with Bloom filter encodings.

A CPython extension over libbloomlink (the C library the ``bloomlink`` command
uses), with a thin pure-Python layer for convenience.  The flow:

    >>> import bloomlink as bl
    >>> schema = bl.Schema.load("schema.json")
    >>> with bl.Key.load("linkage.key") as key, \\
    ...      bl.Encoder(schema, bl.Profile.load("gp.profile.json", schema), key) as enc:
    ...     enc.encode_csv("gp.csv", "gp.ble", id_map_path="gp.ids")
    >>> links = bl.match(bl.Dataset(["gp.ble", "housing.ble"]))
    >>> links.write_csv("links.csv")

Errors are ``bloomlink.Error`` subclasses (ParseError, SchemaError,
KeyFileError, FormatError, ChecksumError, MismatchError, PolicyError, ...)
carrying the library's code, source, line, column, field and text.  Keys are
never handed to Python as bytes: ``Key`` wraps the library's key and wipes it
on close.  pandas and numpy are used when present and never required.
"""
from __future__ import annotations

import enum
import fractions
import os
import tempfile
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _bloomlink
from ._bloomlink import (  # noqa: F401  (re-exported)
    HEADER_VERSION,
    KEY_BYTES,
    MAX_FIELDS,
    TOKEN_BYTES,
    Agreement,
    ChecksumError,
    CancelledError,
    CryptoError,
    CsvReader,
    Dataset,
    EncodingReader,
    EncodingWriter,
    Error,
    ExistsError,
    ExpiredError,
    FileIOError,
    FormatError,
    InvalidValueError,
    Key,
    KeyFileError,
    LinkMap,
    MismatchError,
    MisuseError,
    Model,
    NoMemoryError,
    NotFoundError,
    ParseError,
    PolicyError,
    Profile,
    Record,
    Schema,
    SchemaError,
    SignatureError,
    UnsupportedError,
    _live_handles,
    audit_append,
    audit_verify,
    dice,
    emit,
    evaluate_files,
    generate_signing_key,
    kernel_available,
    kernel_name,
    match,
    nhs_number_valid,
    normalise_date,
    normalise_full_name,
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    normalise_sex,
    normalise_text,
    optout_tokens,
    popcount,
    pseudonym,
    read_csv,
    set_kernel,
    signing_key_public,
    synth,
    version,
)

__version__ = version()

_PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: The four sources `synth` writes, in the order the demo encodes them.
DEMO_SOURCES = ("gp", "social_care", "housing", "education")


class Status(enum.IntEnum):
    """bl_status values, as found in ``Error.code``."""

    OK = 0
    ENOMEM = 1
    EIO = 2
    EPARSE = 3
    ESCHEMA = 4
    EKEY = 5
    EFORMAT = 6
    ECHECKSUM = 7
    EMISMATCH = 8
    EMISUSE = 9
    ECRYPTO = 10
    ENOTFOUND = 11
    EUNSUPPORTED = 12
    EINVALID = 13
    EEXPIRED = 14
    ESIGNATURE = 15
    EPOLICY = 16
    EEXISTS = 17
    ECANCELLED = 18


def _is_dataframe(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "itertuples") and hasattr(obj, "notna")


class Encoder(_bloomlink._Encoder):
    """Encoder(schema, profile, key)

    Encode one source's records with a linkage key: single rows
    (``encode_row``), many rows or a pandas DataFrame (``encode_rows``), or a
    whole CSV extract into a .ble file (``encode_csv``, which releases the
    GIL).  Keeps the schema, profile and key alive; ``close()`` or leaving a
    ``with`` block wipes the sub-keys derived from the key.
    """

    __slots__ = ()

    def encode_rows(self, rows: Iterable[Any], columns: Optional[Sequence[str]] = None) -> list:
        """Encode many rows: dicts, sequences with ``columns``, or a DataFrame.

        A pandas DataFrame's column names are its columns and its missing
        values (NaN, None, NA) are missing.  Returns a list of Records.
        """
        if _is_dataframe(rows):
            df = rows
            columns = [str(c) for c in df.columns]
            rows = df.astype(object).where(df.notna(), None).itertuples(index=False, name=None)
        return [self.encode_row(r, columns) for r in rows]

    def write_ble(self, path: _PathLike, records: Iterable[Any]) -> int:
        """Write records (from ``encode_row``) to an encoding file with this
        encoder's header, atomically.  Returns the number written."""
        with EncodingWriter(path, self.header) as w:
            for r in records:
                w.add(r)
            return w.count


def read_ble(path: _PathLike) -> list:
    """Every record of an encoding file, as a list of Records (the trailer
    checksum is verified)."""
    with EncodingReader(path) as r:
        return list(r)


def ble_arrays(path: _PathLike) -> dict:
    """An encoding file as numpy arrays (needs numpy).

    Returns a dict: ``token`` (n, 16) uint8, ``present`` (n,) uint32,
    ``fields`` {name: (n, words) uint64}, ``clk`` (n, words) uint64,
    ``blocking_keys`` {name: (n,) uint64}, ``sex`` and ``age_band`` (n,)
    uint8, and ``header``.
    """
    import numpy as np

    with EncodingReader(path) as r:
        header = r.header
        recs = list(r)
    n = len(recs)

    def stack(chunks: list, bits: int) -> Any:
        a = np.frombuffer(b"".join(chunks), dtype="<u8")
        return a.reshape(n, bits // 64) if bits else np.zeros((n, 0), dtype="<u8")

    return {
        "header": header,
        "token": np.frombuffer(b"".join(x.token for x in recs), dtype=np.uint8).reshape(n, 16),
        "present": np.array([x.present for x in recs], dtype=np.uint32),
        "fields": {f["name"]: stack([x.fields[f["name"]] for x in recs], f["bits"])
                   for f in header["fields"]},
        "clk": stack([x.clk for x in recs], header["clk_bits"]),
        "blocking_keys": {k: np.array([x.blocking_keys[k] for x in recs], dtype=np.uint64)
                          for k in header["blocking_keys"]},
        "sex": np.array([x.sex for x in recs], dtype=np.uint8),
        "age_band": np.array([x.age_band for x in recs], dtype=np.uint8),
    }


def _ratio(threshold: Any) -> tuple:
    if isinstance(threshold, tuple):
        num, den = threshold
        return int(num), int(den)
    f = fractions.Fraction(str(threshold)) if isinstance(threshold, float) \
        else fractions.Fraction(threshold)
    if f.denominator > 0xFFFFFFFF or f.numerator > 0xFFFFFFFF:
        f = f.limit_denominator(0xFFFF)
    return f.numerator, f.denominator


def dice_scan(one: Any, many: Any, threshold: Any) -> Any:
    """Indices of the filters in ``many`` whose Dice coefficient with ``one``
    is at least ``threshold``, in increasing order.

    ``one`` is a bytes-like filter (a whole number of 64-bit words).  ``many``
    is one contiguous bytes-like buffer of equal-length filters (bytes, a
    memoryview, a 2-D numpy uint64 array, ...) or a sequence of filters.
    ``threshold`` is a float, a Fraction or a (num, den) pair; the comparison
    is integer-exact.  Returns a list of ints, or a numpy array when ``many``
    is a numpy array.  Uses the kernel in force; releases the GIL.
    """
    num, den = _ratio(threshold)
    is_numpy = type(many).__module__ == "numpy"
    if not is_numpy and not isinstance(many, (bytes, bytearray, memoryview)):
        many = b"".join(bytes(m) for m in many)
    idx = _bloomlink._dice_scan(one, many, num, den)
    if is_numpy:
        import numpy as np

        return np.asarray(idx).astype(np.uint32)
    return idx.tolist()


def _record_index(dataset: Dataset, r: Any) -> int:
    if isinstance(r, int):
        return r
    if isinstance(r, tuple):
        source, token = r
        return dataset.find(token, source)
    return dataset.find(r)


def explain_pair(dataset: Dataset, model: Model, a: Any, b: Any) -> dict:
    """The per-field evidence behind the score of two records under a trained
    model (a waterfall): prior_weight, related_adjustment, weight,
    probability and ``fields``, one dict per field (field, level,
    level_name, dice, m, u, weight, tf_adjustment).

    ``a`` and ``b`` are dataset indices, record tokens (16 bytes or 32 hex)
    or (source, token) pairs.
    """
    return _bloomlink._explain_pair(dataset, model, _record_index(dataset, a),
                                    _record_index(dataset, b))


def evaluate(truth_csv: _PathLike, id_maps: Mapping[str, _PathLike],
             linkmap: Union[LinkMap, _PathLike]) -> dict:
    """Pairwise precision, recall and F1 of a link map against truth.

    ``linkmap`` is a LinkMap (from ``match``) or the path of a link map CSV.
    Returns the library's evaluation: ``overall`` and ``by_source_pair``
    ({true_positive, predicted, actual, precision, recall, f1}),
    split_persons, merged_entities and record counts.
    """
    if isinstance(linkmap, LinkMap):
        with tempfile.TemporaryDirectory(prefix="bloomlink-") as d:
            path = os.path.join(d, "links.csv")
            linkmap.write_csv(path)
            return evaluate_files(truth_csv, id_maps, path)
    return evaluate_files(truth_csv, id_maps, linkmap)


def kernels() -> list:
    """Names of the Dice kernels this CPU can run."""
    return [k for k in ("scalar", "avx2", "avx512") if kernel_available(k)]


__all__ = [n for n in dir() if not n.startswith("_") and n not in {
    "annotations", "enum", "fractions", "os", "tempfile", "Any", "Iterable", "Mapping",
    "Optional", "Sequence", "Union"}] + ["_live_handles"]
