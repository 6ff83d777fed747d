#!/usr/bin/python3
"""Writes the .npz files the test/Run tests feed to `ditc run`.

    make_npz.py fixture IN.npz OUT_DIR   variants of a fixture's inputs.npz
    make_npz.py fake OUT_DIR             inputs of Inputs/fake_model.c
    make_npz.py check-fake IN.npz OUT.npz  checks the fake model's outputs
    make_npz.py corrupt FILE flip|truncate  damages a safetensors file
"""

import os
import struct
import sys

import numpy as np


def fixture(src, out):
    z = dict(np.load(src))
    names = list(z)
    first, second = names[0], names[1]

    def save(name, d, compressed=False):
        (np.savez_compressed if compressed else np.savez)(
            os.path.join(out, name), **d)

    renamed = {(k + "s" if k == second else k): v for k, v in z.items()}
    save("wrong_name.npz", renamed)
    save("missing.npz", {k: v for k, v in z.items() if k != second})
    save("extra.npz", dict(z, foo=np.zeros(3, np.float32)))
    shape = dict(z)
    shape[first] = z[first][:1]
    save("wrong_shape.npz", shape)
    dtype = dict(z)
    dtype[second] = z[second].astype(np.int32)
    save("wrong_dtype.npz", dtype)
    save("compressed.npz", z, compressed=True)
    with open(os.path.join(out, "not_a_zip.npz"), "wb") as f:
        f.write(b"this is not a zip archive\n")
    data = open(src, "rb").read()
    with open(os.path.join(out, "truncated.npz"), "wb") as f:
        f.write(data[: len(data) // 2])


def fake(out):
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    t = np.array([10, 20], np.int64)
    m = np.array([True, False, True])
    h = np.array(1.5, np.float16)
    np.savez(os.path.join(out, "fake_in.npz"), x=x, t=t, m=m, h=h)


def check_fake(inp, outp):
    i, o = np.load(inp), np.load(outp)
    y = np.where(i["m"][None, :], i["x"] + i["t"][:, None].astype(np.float32), 0)
    assert sorted(o.files) == ["y", "z"], o.files
    assert o["y"].dtype == np.float32 and o["y"].shape == (2, 3)
    assert o["z"].dtype == np.int64 and o["z"].shape == (2,)
    np.testing.assert_array_equal(o["y"], y)
    np.testing.assert_array_equal(o["z"], 2 * i["t"])
    print("fake outputs ok:", o["y"].tolist(), o["z"].tolist())


def corrupt(path, how):
    data = bytearray(open(path, "rb").read())
    (header_len,) = struct.unpack("<Q", data[:8])
    start = 8 + header_len
    if how == "flip":
        # Flip bytes in the middle of the data section (not the header).
        mid = start + (len(data) - start) // 2
        for k in range(4):
            data[mid + k] ^= 0x5A
    else:
        data = data[: start + (len(data) - start) // 3]
    open(path, "wb").write(bytes(data))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "fixture":
        fixture(sys.argv[2], sys.argv[3])
    elif cmd == "fake":
        fake(sys.argv[2])
    elif cmd == "check-fake":
        check_fake(sys.argv[2], sys.argv[3])
    elif cmd == "corrupt":
        corrupt(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
