"""Minimal safetensors reader/writer for the Python reference tests.

Written from the format description (u64 little-endian header length, JSON
header, raw little-endian data), independently of aha's C code, so tests can
check files aha writes and hand aha files it did not write. Needs torch only.
    read(path) -> {name: tensor}            (dtype as stored)
    read_metadata(path) -> {"format": ...}
    write(path, {name: tensor}, dtype=None, metadata=None)
    read_model(dir) -> {name: tensor}       (model.safetensors or sharded via the index)
    write_sharded(dir, tensors, dtype, max_shard_bytes)
"""
import json
import os
import struct

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}


def _header(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    return header, raw[8 + n:]


def read(path):
    header, data = _header(path)
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dt = DTYPES[e["dtype"]]
        chunk = bytearray(data[b:end])
        t = torch.frombuffer(chunk, dtype=dt) if len(chunk) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def read_metadata(path):
    header, _ = _header(path)
    return header.get("__metadata__", {})


def header(path):
    return _header(path)[0]


def write(path, tensors, dtype=None, metadata=None):
    """Write tensors (converted to dtype when given) in insertion order."""
    hdr = {"__metadata__": metadata if metadata is not None else {"format": "pt"}}
    blobs, off = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if dtype is not None:
            t = t.to(dtype)
        b = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        hdr[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    js = json.dumps(hdr).encode("utf-8")
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def read_model(d):
    single = os.path.join(d, "model.safetensors")
    if os.path.exists(single):
        return read(single)
    with open(os.path.join(d, "model.safetensors.index.json")) as f:
        wm = json.load(f)["weight_map"]
    out = {}
    for fname in sorted(set(wm.values())):
        out.update(read(os.path.join(d, fname)))
    return out


def write_sharded(d, tensors, dtype, max_shard_bytes):
    """Split tensors in order into shards of at most max_shard_bytes and write the index."""
    esize = torch.empty(0, dtype=dtype).element_size()
    groups, cur, size = [], {}, 0
    for name, t in tensors.items():
        nb = t.numel() * esize
        if cur and size + nb > max_shard_bytes:
            groups.append(cur)
            cur, size = {}, 0
        cur[name] = t
        size += nb
    groups.append(cur)
    wm, total = {}, 0
    for i, g in enumerate(groups):
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, len(groups))
        write(os.path.join(d, fname), g, dtype)
        for name, t in g.items():
            wm[name] = fname
            total += t.numel() * esize
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
    return len(groups)
